import { describe, expect, it } from 'vitest'
import { hintsFor, isPortOpenFailure } from './hints'

describe('failure → hint', () => {
  it.each([
    [{ code: 'port-open-failed', kind: 'device' }, 'portOpen'],
    [{ code: 'port-failed', kind: 'device', message: 'Error: ENOENT: no such file or directory' }, 'portOpen'],
    [{ kind: 'device', code: 'unexpected', message: "Error: EACCES: permission denied, open '/dev/ttyUSB0'" }, 'portOpen'],
    [{ code: 'image-too-large', kind: 'device' }, 'imageTooLarge'],
    [{ code: 'stm32-protected', kind: 'device' }, 'stm32Protected'],
    [{ code: 'esp-no-sync', kind: 'device' }, 'bootEsp'],
    [{ code: 'stm32-timeout', kind: 'device' }, 'bootStm32'],
    [{ code: 'smp-timeout', kind: 'device' }, 'bootMcuboot'],
    [{ code: 'ymodem-retries', kind: 'device' }, 'bootYmodem'],
    [{ code: 'timeout', kind: 'device', protocol: 'esp' as const }, 'bootEsp'],
    [{ reason: 'download-refused' }, 'downloadRefused'],
    [{ reason: 'download-timeout', kind: 'download', message: 'HTTP 403 Forbidden' }, 'downloadRefused'],
    [{ reason: 'verification-failed', code: 'hash-mismatch', kind: 'integrity' }, 'verificationFailed'],
    [{ reason: 'version-mismatch' }, 'versionMismatch'],
    [{ code: 'verify-failed', kind: 'device' }, 'deviceVerify'],
    [{ code: 'login-refused', kind: 'platform' }, 'loginRefused'],
    [{ code: 'bad-pin', kind: 'forbidden' }, 'pin'],
    [{ code: 'pin-locked', kind: 'forbidden' }, 'pinLocked'],
    [{ code: 'operator-mode', kind: 'forbidden' }, 'operatorMode'],
    [{ reason: 'install-failed', protocol: 'stm32' as const }, 'bootStm32'],
    [{ kind: 'device', code: 'something-new' }, 'device'],
    [{ reason: 'internal' }, 'internal']
  ])('%o → %s first', (failure, first) => {
    expect(hintsFor(failure)[0]).toBe(first)
  })

  it('a cancelled job needs no hint', () => {
    expect(hintsFor({ reason: 'cancelled', code: 'cancelled', kind: 'interrupted' })).toEqual([])
    expect(hintsFor({ code: 'aborted', kind: 'interrupted' })).toEqual([])
  })

  it('names each hint once, most specific first', () => {
    expect(hintsFor({ code: 'port-open-failed', message: 'EACCES', reason: 'install-failed', kind: 'device', protocol: 'stm32' })).toEqual(['portOpen'])
    expect(hintsFor({ code: 'hash-mismatch', reason: 'verification-failed' })).toEqual(['verificationFailed'])
  })

  it('recognises port-open failures by code or by the OS error in the message', () => {
    expect(isPortOpenFailure({ code: 'port-open-failed' })).toBe(true)
    expect(isPortOpenFailure({ message: 'Error: Access denied' })).toBe(true)
    expect(isPortOpenFailure({ message: 'opening COM3: ENOENT' })).toBe(true)
    expect(isPortOpenFailure({ code: 'esp-no-sync', message: 'no answer' })).toBe(false)
  })
})
