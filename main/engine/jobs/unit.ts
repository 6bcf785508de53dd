import { usbIdentityOf } from '../ports'
import { isSimPort } from '../transport/open'
import type { JobRecord } from './job-record'

/**
 * The USB-serial adapter behind a job's port (its serial number and where it is plugged in), for the
 * record: the only unit identity a YMODEM or MCUboot board offers. Never fails a job.
 */
export async function describeUsbUnit(job: JobRecord): Promise<void> {
  const port = job.slot?.port
  if (!port || isSimPort(port) || job.context?.usbSerial || job.context?.usbLocation) return
  const usb = await usbIdentityOf(port)
  if (usb.serialNumber || usb.location) job.context = { ...job.context, usbSerial: usb.serialNumber, usbLocation: usb.location }
}
