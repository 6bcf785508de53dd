import { useEffect, useState } from 'react'
import type { FlashlineApi, PortInfo } from '../../preload/contract'

declare global {
  interface Window {
    api: FlashlineApi
  }
}

/** Bench view placeholder: lists serial ports. The full station UI is a later issue. */
export function App(): React.JSX.Element {
  const [ports, setPorts] = useState<PortInfo[]>([])
  const [error, setError] = useState<string | null>(null)

  const refresh = async (): Promise<void> => {
    const r = await window.api.listPorts()
    if (r.ok) {
      setPorts(r.value)
      setError(null)
    } else setError(r.error.message)
  }

  useEffect(() => {
    void refresh()
  }, [])

  return (
    <main>
      <h1>Flashline</h1>
      <section aria-label="Serial ports">
        <h2>Serial ports</h2>
        <button onClick={() => void refresh()}>Refresh</button>
        {error && <p role="alert">{error}</p>}
        {ports.length === 0 ? (
          <p>No serial ports found. Connect a device and press Refresh.</p>
        ) : (
          <ul>
            {ports.map((p) => (
              <li key={p.path}>
                <strong>{p.path}</strong> {p.bridge ?? p.manufacturer ?? ''}
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  )
}
