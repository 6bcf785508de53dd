// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { renderApp, settle } from '../../test-utils'

afterEach(() => {
  cleanup()
  localStorage.clear()
})

const navNames = (): string[] => within(screen.getByRole('navigation', { name: 'Screens' })).getAllByRole('link').map((a) => a.textContent ?? '')

describe('operator mode', () => {
  it('hides settings, profiles, records and recovery; only start, scan, retry and cancel remain', async () => {
    location.hash = '#settings'
    await renderApp({ operatorMode: true, adminPin: '2468', cachedPackage: true, scenario: 'mixed', hash: '#settings' })
    expect(navNames()).toEqual(['Bench'])
    expect(document.querySelector('.app')?.getAttribute('data-screen')).toBe('bench')
    expect(screen.queryByText('Platform profiles')).toBeNull()
    expect(screen.queryByLabelText('Serial-number pattern (regular expression)')).toBeNull()
    // the firmware is chosen by an administrator; no import
    expect((screen.getByLabelText('Firmware to flash') as HTMLSelectElement).disabled).toBe(true)
    expect(screen.queryByText('Drop a firmware file here, or:')).toBeNull()
    expect((screen.getByLabelText('Watch for boards being plugged in (station mode)') as HTMLInputElement).closest('fieldset')?.disabled).toBe(true)
    const buttons = screen.getAllByRole('button').map((b) => b.textContent)
    expect(buttons).toEqual(expect.arrayContaining(['Start all', 'Retry failed', 'Cancel all', 'Leave operator mode']))
    expect(buttons.filter((b) => !['Start all', 'Retry failed', 'Cancel all', 'Leave operator mode', 'Cancel'].includes(b ?? ''))).toEqual([])
    expect(screen.getByLabelText('Serial number (scan)')).toBeTruthy()
  })

  it('leaves only with the admin PIN; what operator mode kept from the page loads then', async () => {
    const r = await renderApp({ operatorMode: true, adminPin: '2468', withPlatform: true })
    // the host refuses profiles and connections in operator mode: not shown, not reported as a failure
    expect(r.store.profiles).toEqual([])
    expect(r.store.link).toBe('ok')
    fireEvent.click(screen.getByRole('button', { name: 'Leave operator mode' }))
    const dialog = screen.getByRole('dialog', { name: 'Leave operator mode' })
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Admin PIN'))
    fireEvent.change(within(dialog).getByLabelText('Admin PIN'), { target: { value: '1111' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Unlock' }))
    await settle()
    expect(within(dialog).getByRole('alert').textContent).toContain('The PIN is not correct.')
    expect(navNames()).toEqual(['Bench'])
    fireEvent.change(within(dialog).getByLabelText('Admin PIN'), { target: { value: '2468' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Unlock' }))
    await settle()
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(navNames()).toEqual(['Bench', 'Platform', 'Recover', 'Records', 'Settings'])
    expect(r.fake.calls.filter((c) => c.method === 'unlockOperatorMode').map((c) => c.args)).toEqual([{ pin: '1111' }, { pin: '2468' }])
    await settle(20)
    expect(r.store.profiles.map((p) => p.id)).toEqual(['p-iotda'])
    expect(r.store.connections.map((c) => c.status)).toEqual(['online'])
  })

  it('is turned on from Settings once a PIN is set', async () => {
    await renderApp({ hash: '#settings' })
    const enter = screen.getByRole('button', { name: 'Turn on operator mode' })
    expect((enter as HTMLButtonElement).disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('New PIN'), { target: { value: '1357' } })
    fireEvent.change(screen.getByLabelText('Repeat the PIN'), { target: { value: '1357' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set PIN' }))
    await settle()
    fireEvent.click(screen.getByRole('button', { name: 'Turn on operator mode' }))
    await settle()
    expect(navNames()).toEqual(['Bench'])
    expect(screen.getByText('Operator mode')).toBeTruthy()
  })
})
