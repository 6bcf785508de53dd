import { read } from 'node:fs'
import { promisify } from 'node:util'
import type { DarwinPortBinding, LinuxPortBinding } from '@serialport/bindings-cpp'
import { unixRead } from '@serialport/bindings-cpp/dist/unix-read'
import { SerialPort } from 'serialport'

const readAsync = promisify(read)

/**
 * A read that returns 0 bytes from a tty means end of file: the line was hung up (a USB adapter
 * unplugged, the far end of a pty closed). serialport 13's unix read retries such a read forever
 * (serialport/bindings-cpp#162), spinning without ever reporting the loss; failing the read instead
 * lets the stream close with a disconnect, which SerialTransport reports as port-lost.
 */
async function readOrHangUp(fd: number, buffer: Buffer, offset: number, length: number, position: null): Promise<{ bytesRead: number; buffer: Buffer }> {
  const r = await readAsync(fd, buffer, offset, length, position)
  if (r.bytesRead === 0) throw Object.assign(new Error('the port was hung up (end of file)'), { code: 'EHANGUP' })
  return r
}

type UnixPort = LinuxPortBinding | DarwinPortBinding

/** serialport's own binding for this OS, with the unix read replaced by one that treats end of file as a hang-up. */
export const serialBinding: typeof SerialPort.binding =
  process.platform === 'win32'
    ? SerialPort.binding
    : {
        ...SerialPort.binding,
        list: () => SerialPort.binding.list(),
        async open(options: Parameters<typeof SerialPort.binding.open>[0]) {
          const port = (await SerialPort.binding.open(options)) as UnixPort
          const original = port.read.bind(port)
          port.read = (buffer: Buffer, offset: number, length: number) => {
            if (!Buffer.isBuffer(buffer) || !port.isOpen) return original(buffer, offset, length) // its own argument and state errors
            return unixRead({ binding: port, buffer, offset, length, fsReadAsync: readOrHangUp as typeof readAsync })
          }
          return port
        }
      } as typeof SerialPort.binding
