import { useId, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, PackageView, Result } from '../../../preload/contract'
import { formatBytes } from '../format'
import { refreshPackages } from '../store/sync'
import { useApp, useInfo, usePackages } from '../store/context'
import { ErrorBox } from './Hints'
import { Icon } from './Icon'

/** The file's bytes as base64, in chunks (String.fromCharCode on a whole image would overflow the stack). */
export async function fileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

const HEX64 = /^[0-9a-f]{64}$/i

/**
 * Chooses a package from the cache, or brings a new one in: the open dialog in the desktop app,
 * a file input or drag and drop in a browser (and drop in both). Shows the chosen package's hashes.
 */
export function PackagePicker({ value, onChange, readOnly, label }: { value?: string; onChange: (sha256: string | undefined) => void; readOnly?: boolean; label?: string }): React.JSX.Element {
  const { t, i18n } = useTranslation()
  const { api, store } = useApp()
  const packages = usePackages()
  const info = useInfo()
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const [expected, setExpected] = useState('')
  const [dragging, setDragging] = useState(false)
  const fileInput = useRef<HTMLInputElement>(null)
  const id = useId()
  const chosen = packages.find((p) => p.sha256 === value)
  const expectedBad = expected !== '' && !HEX64.test(expected.trim())
  const expectation = expected.trim() && !expectedBad ? { sha256: expected.trim().toLowerCase() } : {}

  const finish = async (r: Result<PackageView>): Promise<void> => {
    if (!r.ok) {
      setError(r.error)
      return
    }
    setError(null)
    await refreshPackages(api, store)
    onChange(r.value.sha256)
  }
  const run = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true)
    try {
      await work()
    } finally {
      setBusy(false)
    }
  }
  const pick = (): Promise<void> =>
    run(async () => {
      const r = await api.pickPackageFile()
      if (!r.ok) return setError(r.error)
      if (r.value === null) return
      await finish(await api.importPackage({ path: r.value, ...expectation }))
    })
  const upload = (file: File): Promise<void> => run(async () => finish(await api.uploadPackage({ name: file.name, dataBase64: await fileToBase64(file), ...expectation })))

  return (
    <div className="package-picker">
      <label htmlFor={`${id}-select`}>{label ?? t('package.choose')}</label>
      <select id={`${id}-select`} value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)} disabled={readOnly}>
        <option value="">{packages.length === 0 ? t('package.noneCached') : t('package.placeholder')}</option>
        {packages.map((p) => (
          <option key={p.sha256} value={p.sha256}>
            {(p.name ?? p.sha256.slice(0, 12)) + ' · ' + formatBytes(p.size, i18n.language)}
          </option>
        ))}
      </select>
      {chosen && (
        <dl className="package-picker__hashes" data-testid="package-hashes">
          <dt>{t('package.name')}</dt>
          <dd>{chosen.name ?? t('common.unnamed')}</dd>
          <dt>{t('package.size')}</dt>
          <dd>{formatBytes(chosen.size, i18n.language)}</dd>
          <dt>SHA-256</dt>
          <dd>
            <code className="hash">{chosen.sha256}</code>
          </dd>
          {chosen.md5 && (
            <>
              <dt>MD5</dt>
              <dd>
                <code className="hash">{chosen.md5}</code>
              </dd>
            </>
          )}
        </dl>
      )}
      {!readOnly && (
        <div
          className={`drop-zone${dragging ? ' drop-zone--over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault()
            setDragging(true)
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault()
            setDragging(false)
            const file = e.dataTransfer.files[0]
            if (file) void upload(file)
          }}
        >
          <p>{t('package.drop')}</p>
          <div className="row">
            {info?.host === 'electron' ? (
              <button type="button" onClick={() => void pick()} disabled={busy}>
                {t('package.openDialog')}
              </button>
            ) : (
              <>
                <label htmlFor={`${id}-file`} className="button-like">
                  {t('package.chooseFile')}
                </label>
                <input
                  ref={fileInput}
                  id={`${id}-file`}
                  className="visually-hidden"
                  type="file"
                  disabled={busy}
                  onChange={(e) => {
                    const file = e.target.files?.[0]
                    if (file) void upload(file).then(() => fileInput.current && (fileInput.current.value = ''))
                  }}
                />
              </>
            )}
            {busy && (
              <span className="busy" role="status">
                <Icon name="running" />
                {t('package.importing')}
              </span>
            )}
          </div>
          <label htmlFor={`${id}-expected`}>{t('package.expectedSha256')}</label>
          <input id={`${id}-expected`} className="mono" value={expected} onChange={(e) => setExpected(e.target.value)} aria-invalid={expectedBad} spellCheck={false} placeholder={t('package.expectedPlaceholder')} />
          {expectedBad && <p className="field-error">{t('package.expectedBad')}</p>}
        </div>
      )}
      {error && <ErrorBox error={error} platform={info?.platform} />}
    </div>
  )
}
