import { createHmac } from 'node:crypto'

/** IoTDA device login ("Device Connection Authentication", iot_06_v5_3009): the timestamp is the UTC hour, yyyyMMddHH. */
export function iotdaTimestamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}`
}

/** Lowercase hex HMAC-SHA256 keyed by the timestamp, over the device secret. */
export function iotdaPassword(secret: string, timestamp: string): string {
  return createHmac('sha256', timestamp).update(secret).digest('hex')
}

/** `{device_id}_0_{0|1}_{timestamp}`: 1 asks the platform to check the timestamp against its clock. */
export function iotdaClientId(deviceId: string, timestamp: string, checkTimestamp: boolean): string {
  return `${deviceId}_0_${checkTimestamp ? 1 : 0}_${timestamp}`
}

/** `yyyyMMdd'T'HHmmss'Z'` in UTC. */
export function iotdaEventTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}
