// @vitest-environment happy-dom
import { cleanup, fireEvent, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { renderApp, settle } from '../../test-utils'

afterEach(() => {
  cleanup()
  localStorage.clear()
})

describe('recover: the port', () => {
  it('takes a typed path for a port the system does not list (a by-id link, a pty) and detects on it', async () => {
    const r = await renderApp({ hash: '#recover' })
    const next = screen.getByRole('button', { name: 'Next' }) as HTMLButtonElement
    expect(next.disabled).toBe(true)
    const path = screen.getByLabelText('Or type the port’s path (one the system does not list)') as HTMLInputElement
    fireEvent.change(path, { target: { value: ' /dev/serial/by-id/usb-wch.cn_CH340-if00-port0 ' } })
    await settle()
    expect(next.disabled).toBe(false)
    // no listed port is chosen then
    expect(screen.getAllByRole('radio').filter((b) => (b as HTMLInputElement).checked)).toEqual([])
    fireEvent.click(next)
    fireEvent.click(screen.getByRole('button', { name: 'Detect' }))
    await settle(50)
    expect(r.fake.calls.filter((c) => c.method === 'detect').map((c) => c.args)).toEqual([{ slot: { port: '/dev/serial/by-id/usb-wch.cn_CH340-if00-port0', protocol: 'stm32' } }])

    // choosing a listed port empties the path field
    fireEvent.click(screen.getByRole('button', { name: /Choose the port/ }))
    fireEvent.click(screen.getByLabelText(/\/dev\/ttyUSB0/))
    expect((screen.getByLabelText('Or type the port’s path (one the system does not list)') as HTMLInputElement).value).toBe('')
  })
})
