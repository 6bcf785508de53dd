import { describe, expect, it } from 'vitest'
import { runCli } from './harness/cli'

describe('flashline CLI: usage errors are one clear line and exit code 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['agent', '--platform', 'iotda'], /--broker is required/],
    [['agent', '--platform', 'nope', '--broker', 'mqtt://127.0.0.1:1'], /--platform must be one of iotda, fogcloud, wudun, got "nope"/],
    [['agent', '--platform', 'iotda', '--broker', 'http://x'], /--broker must start with mqtt:\/\/ or mqtts:\/\//],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd'], /--secret is required/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'sim:ymodem'], /--protocol is required/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'p', '--protocol', 'xmodem'], /--protocol must be one of ymodem, stm32, esp, mcuboot, got "xmodem"/],
    [['flash', '--port', 'p', '--protocol', 'ymodem'], /--file is required/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', '/nonexistent/fw.bin'], /--file \/nonexistent\/fw.bin: no such file/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', __filename, '--md5', 'xyz'], /--md5 must be 32 hex digits, got "xyz"/],
    [['flash', '--port', 'p', '--protocol', 'ymodem', '--file', __filename, '--baud', 'fast'], /--baud must be a whole number, got "fast"/],
    [['flash', '--bogus'], /unknown flag --bogus for "flashline flash"/],
    [['fetch'], /--url is required/],
    [['fetch', '--url', 'https://x/y', '--sha256', '12'], /--sha256 must be 64 hex digits/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1'], /--product-key is required/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1', '--product-key', 'pk', '--device-name', 'dn'], /--device-secret is required/],
    [['agent', '--platform', 'fogcloud', '--broker', 'mqtt://127.0.0.1:1', '--product-key', 'pk', '--device-name', 'dn', '--device-secret', 's', '--child', 'nope,/dev/x,1'], /must be PRODUCT_KEY\/DEVICE_NAME/],
    [['agent', '--platform', 'wudun', '--broker', 'mqtt://127.0.0.1:1', '--device-uid', 'u'], /--topic-prefix is required/],
    [['agent', '--platform', 'wudun', '--broker', 'mqtt://127.0.0.1:1', '--device-uid', 'u', '--topic-prefix', 'v1', '--password', 'p'], /--password needs --username/],
    [['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd', '--secret', 's', '--current-version', '1', '--port', 'p', '--protocol', 'ymodem', '--child', 'c1,/dev/x'], /--child "c1,\/dev\/x" must be CHILD_ID,PORT,CURRENT_VERSION/]
  ]
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
