import type { FlashRecord } from '../../main/engine/records/record'

/** A complete, valid record of a finished job; `over` replaces fields. */
export function sampleRecord(n: number, over: Partial<FlashRecord> = {}): FlashRecord {
  const started = new Date(Date.UTC(2025, 0, 1, 8, 0, 0) + n * 60_000)
  return {
    job_id: `job-${String(n).padStart(6, '0')}`,
    origin: 'batch',
    station: 'bench-1',
    operator: 'alice',
    port: '/dev/ttyUSB0',
    usb_serial: 'A50285BI',
    usb_location: '1-1.2',
    protocol: 'stm32',
    chip: 'STM32F103',
    chip_id: `0672ff48${String(n).padStart(16, '0')}`,
    serial_number: `SN${n}`,
    duplicate: false,
    package: 'fw-1.2.0.bin',
    package_sha256: 'a'.repeat(64),
    package_size: 65536,
    from_version: '1.1.0',
    to_version: '1.2.0',
    platform: null,
    task_id: null,
    started_at: started.toISOString(),
    ended_at: new Date(started.getTime() + 12_345).toISOString(),
    duration_ms: 12_345,
    download_ms: null,
    flash_ms: 11_000,
    verify_ms: 1_200,
    result: 'succeeded',
    reason: null,
    message: null,
    retries: 0,
    log_file: null,
    ...over
  }
}
