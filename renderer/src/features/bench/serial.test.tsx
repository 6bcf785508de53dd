// @vitest-environment happy-dom
import { cleanup, fireEvent, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { checkSerial } from '../../serial'
import { renderApp, settle } from '../../test-utils'

afterEach(() => {
  cleanup()
  localStorage.clear()
})

const serialInput = (): HTMLInputElement => screen.getByLabelText('Serial number (scan)')

describe('serial-number field', () => {
  it('checks the whole code against the pattern; an empty pattern takes anything non-empty', () => {
    expect(checkSerial('SN1234', 'SN\\d{4}')).toEqual({ ok: true, value: 'SN1234' })
    expect(checkSerial('SN12345', 'SN\\d{4}')).toEqual({ ok: false, problem: 'mismatch' })
    expect(checkSerial('xSN1234', 'SN\\d{4}')).toEqual({ ok: false, problem: 'mismatch' })
    expect(checkSerial('  SN1234\n', 'SN\\d{4}')).toEqual({ ok: true, value: 'SN1234' })
    expect(checkSerial('anything', '')).toEqual({ ok: true, value: 'anything' })
    expect(checkSerial('   ', '')).toEqual({ ok: false, problem: 'empty' })
    expect(checkSerial('a', '(')).toEqual({ ok: false, problem: 'bad-pattern' })
  })

  it('keeps the keyboard: takes focus back after a click on a button or on nothing, but not from another field', async () => {
    await renderApp({ scenario: 'mixed', cachedPackage: true })
    const input = serialInput()
    expect(document.activeElement).toBe(input)

    const retry = screen.getByRole('button', { name: 'Retry failed' })
    retry.focus()
    fireEvent.click(retry)
    expect(document.activeElement).toBe(input)

    const tile = document.querySelector('.tile') as HTMLElement
    fireEvent.click(tile)
    expect(document.activeElement).toBe(input)

    input.blur()
    expect(document.activeElement).toBe(document.body)
    await settle()
    expect(document.activeElement).toBe(input)

    fireEvent.click(screen.getByLabelText('Watch for boards being plugged in (station mode)'))
    await settle()
    const allow = screen.getByLabelText('USB VID:PID allow-list')
    allow.focus()
    fireEvent.click(allow)
    await settle()
    expect(document.activeElement).toBe(allow)
  })

  it('shows an invalid scan clearly and keeps it selected for the next scan', async () => {
    const r = await renderApp({ serialPattern: 'SN\\d{4}', cachedPackage: true })
    const input = serialInput()
    fireEvent.change(input, { target: { value: 'SN12' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    expect(input.getAttribute('aria-invalid')).toBe('true')
    expect(screen.getByRole('alert').textContent).toContain('Invalid serial number')
    expect(screen.getByRole('alert').textContent).toContain('SN\\d{4}')
    expect(input.value).toBe('SN12')
    expect(r.store.local.scannedSerial).toBeUndefined()
    // typing again clears the complaint
    fireEvent.change(input, { target: { value: 'SN1' } })
    expect(input.getAttribute('aria-invalid')).toBe('false')
  })

  it('a good scan goes with the next batch as serialNumber, then is used up', async () => {
    const r = await renderApp({ serialPattern: 'SN\\d{4}', cachedPackage: true, stepMs: 1 })
    fireEvent.change(screen.getByLabelText('Firmware to flash'), { target: { value: r.store.packages[0]!.sha256 } })
    const input = serialInput()
    fireEvent.change(input, { target: { value: 'SN0042' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await settle()
    expect(input.value).toBe('')
    expect(screen.getByText('Next unit: SN0042')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Start all' }))
    await settle(30)
    const start = r.fake.calls.find((c) => c.method === 'startBatch')
    expect(start?.args).toMatchObject({ serialNumber: 'SN0042', slotIds: ['slot-1', 'slot-2', 'slot-3', 'slot-4'], sha256: r.store.packages[0]!.sha256 })
    expect(r.store.local.scannedSerial).toBeUndefined()
    expect(screen.queryByText('Next unit: SN0042')).toBeNull()
    expect(document.activeElement).toBe(input)
  })
})
