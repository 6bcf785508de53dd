import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './harness/cli'

describe('flashline CLI: usage errors are one clear line and exit code 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['agent', '--platform', 'iotda'], /--broker is required/],
    [['agent', '--platform', 'nope', '--broker', 'mqtt://127.0.0.1:1'], /--platform must be one of iotda, fogcloud, wudun, got "nope"/],
    [['agent', '--platform', 'iotda', '--broker', 'http://x'], /--broker: must start with mqtt:\/\/ or mqtts:\/\/, got "http:\/\/"/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd'], /--secret is required/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'sim:ymodem'], /--protocol is required/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'p', '--protocol', 'xmodem'], /--protocol: expected one of ymodem, stm32, esp, mcuboot, got "xmodem"/],
    [['flash', '--port', 'p', '--protocol', 'ymodem'], /--file is required/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', '/nonexistent/fw.bin'], /\/nonexistent\/fw.bin: no such file/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', __filename, '--md5', 'xyz'], /--md5 must be 32 hex digits, got "xyz"/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', __filename, '--baud', 'fast'], /--baud: expected a whole number from 300 to 16000000, got "fast"/],
    [['flash', '--bogus'], /unknown flag --bogus for "flashline flash"/],
    [['fetch'], /--url is required/],
    [['fetch', '--url', 'https://x/y', '--sha256', '12'], /--sha256 must be 64 hex digits/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1'], /--product-key is required/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1', '--product-key', 'pk', '--device-name', 'dn'], /--device-secret is required/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1', '--product-key', 'pk', '--device-name', 'dn', '--device-secret', 's', '--child', 'nope,/dev/x,1'], /must be PRODUCT_KEY\/DEVICE_NAME/],
    [['agent', '--platform', 'wudun', '--broker', 'mqtt://127.0.0.1:1', '--device-uid', 'u'], /--current-version is required/],
    [['agent', '--platform', 'wudun', '--broker', 'mqtt://127.0.0.1:1', '--device-uid', 'u', '--topic-prefix', 'v1', '--password', 'p'], /--password needs --username/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'p', '--protocol', 'ymodem', '--child', 'c1,/dev/x'], /--child "c1,\/dev\/x" must be CHILD_ID,PORT,CURRENT_VERSION/]
  ]
  const iotda = ['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--current-version', '1', '--protocol', 'ymodem']
  const contradictions: Array<[string[], RegExp]> = [
    [[...iotda, '--port', 'p', '--secret', 's', '--secret-file', __filename], /--secret and --secret-file cannot be combined/],
    [[...iotda, '--port', 'p', '--secret', 's', '--cert', __filename, '--key', __filename], /--secret and --cert cannot be combined: a device logs in with a secret or with an X\.509 certificate, not both/],
    [[...iotda, '--port', 'p', '--secret', 's', '--product-key', 'pk'], /--product-key is a FogCloud flag; it does not apply to --platform iotda/],
    [['agent', '--platform', 'wudun', '--broker', 'mqtt://127.0.0.1:1', '--device-uid', 'u', '--topic-prefix', 'v1', '--secret', 's'], /--secret is a IoTDA flag; it does not apply to --platform wudun/],
    [[...iotda, '--secret', 's', '--port', '/dev/ttyUSB0', '--port', '/dev/ttyUSB1'], /--port is given twice; give it once/],
    [[...iotda, '--secret', 's', '--port', '/dev/ttyUSB0', '--child', 'c1,/dev/ttyUSB0,1.0'], /c1 and d are both on port \/dev\/ttyUSB0; every device needs its own bench port/],
    [[...iotda, '--secret', 's', '--port', '/dev/ttyUSB0', '--baud', '-5'], /--baud: expected a whole number from 300 to 16000000, got number -5/],
    [[...iotda, '--secret', 's', '--port', '--protocol', 'ymodem'], /flag --port needs a value/],
    [[...iotda, '--secret', 's', '--port', '/dev/ttyUSB0', '--baud=-5'], /--baud: expected a whole number from 300 to 16000000, got number -5/],
    [['frobnicate', '--help'], /unknown command "frobnicate"/],
    [[...iotda, '--secret', 's', '--port', 'p', '--ca', __filename], /--ca: .*cli-usage\.test\.ts holds no PEM certificate/],
    [[...iotda, '--secret', 's', '--port', 'p', '--data-dir', '/proc/flashline/data'], /the data directory \/proc\/flashline\/data cannot be used: cannot create \/proc\/flashline \(ENOENT\)/],
    [[...iotda, '--secret', 's', '--port', 'p', '--data-dir', '/etc/hostname'], /the data directory \/etc\/hostname cannot be used: \/etc\/hostname is not a directory \(ENOTDIR\)/]
  ]
  for (const [args, message] of contradictions) cases.push([args, message])
  const empty = join(tmpdir(), `flashline-empty-${process.pid}.bin`)
  writeFileSync(empty, '')
  afterAll(() => rmSync(empty, { force: true }))
  for (const protocol of ['ymodem', 'stm32', 'esp', 'mcuboot']) {
    cases.push([['flash', '--port', `sim:${protocol}`, '--protocol', protocol, '--file', empty], /flashline-empty-\d+\.bin is empty \(0 bytes\); there is nothing to flash/])
  }
  for (const [args, message] of cases) {
    it(`flashline ${args.join(' ')}`, async () => {
      const r = await runCli(args)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }

  it('prints help with exit 0', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/flashline <command>/)
    const a = await runCli(['agent', '--help'])
    expect(a.code).toBe(0)
    expect(a.stdout).toMatch(/--current-version/)
  })
})
