/**
 * STM32 parts by the PID the system bootloader reports (Get ID), with the flash layout we need to
 * erase only what an image touches and to refuse an image that does not fit before erasing.
 * `flashSize` is the largest part of each family line (the PID does not tell variants apart); the
 * part's own flash-size register, read at `flashSizeAddress`, narrows it down when it can be read.
 */
export interface Stm32Chip {
  pid: number
  name: string
  flashStart: number
  flashSize: number
  /** Page (or sector) sizes from flashStart, in order; the last entry repeats to the end. */
  pages: number[]
  ramStart: number
  /** The 96-bit unique device ID: 12 bytes from this address ("Device electronic signature" chapter of the reference manual). */
  uidAddress: number
  /** The 16-bit flash size register, in KiB (same chapter). */
  flashSizeAddress: number
}

const K = 1024
const F4_SECTORS = [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, 128 * K]

/**
 * Device electronic signature addresses per family, from ST's reference manuals; each agrees with
 * `UID_BASE` / `FLASHSIZE_BASE` in ST's CMSIS device headers (STMicroelectronics/cmsis_device_xx, Include/).
 */
const SIGNATURE = {
  /** RM0008 §30.1.1 Flash size register, §30.2 Unique device ID register; RM0041 §26.1.1/§26.2 (F100 value line); stm32f103xb.h, stm32f100xb.h. */
  f1: { uidAddress: 0x1ffff7e8, flashSizeAddress: 0x1ffff7e0 },
  /** RM0091, Device electronic signature (unique device ID, memory size data register); stm32f030x8.h, stm32f051x8.h. */
  f0: { uidAddress: 0x1ffff7ac, flashSizeAddress: 0x1ffff7cc },
  /** RM0090 §39.1 Unique device ID register, §39.2 Flash size (F405/407/415/417/427/429/437/439); stm32f407xx.h, stm32f429xx.h, and stm32f411xe.h for the F411. */
  f4: { uidAddress: 0x1fff7a10, flashSizeAddress: 0x1fff7a22 },
  /** RM0351, Device electronic signature (unique device ID, flash size data register); stm32l476xx.h. */
  l4: { uidAddress: 0x1fff7590, flashSizeAddress: 0x1fff75e0 },
  /**
   * RM0444 §41.1 Unique device ID register, §41.2 Flash memory size data register (G0x1); stm32g071xx.h, stm32g081xx.h.
   * The G070 shares PID 0x460 but RM0454 (G0x0) documents only the flash size register there, no unique ID.
   */
  g0: { uidAddress: 0x1fff7590, flashSizeAddress: 0x1fff75e0 }
} as const

export const STM32_CHIPS: Stm32Chip[] = [
  { pid: 0x410, name: 'STM32F10xxx medium-density', flashStart: 0x08000000, flashSize: 128 * K, pages: [1 * K], ramStart: 0x20000200, ...SIGNATURE.f1 },
  { pid: 0x412, name: 'STM32F10xxx low-density', flashStart: 0x08000000, flashSize: 32 * K, pages: [1 * K], ramStart: 0x20000200, ...SIGNATURE.f1 },
  { pid: 0x414, name: 'STM32F10xxx high-density', flashStart: 0x08000000, flashSize: 512 * K, pages: [2 * K], ramStart: 0x20000200, ...SIGNATURE.f1 },
  { pid: 0x420, name: 'STM32F10xxx medium-density value line', flashStart: 0x08000000, flashSize: 128 * K, pages: [1 * K], ramStart: 0x20000200, ...SIGNATURE.f1 },
  { pid: 0x440, name: 'STM32F030x8/F05xxx', flashStart: 0x08000000, flashSize: 64 * K, pages: [1 * K], ramStart: 0x20000800, ...SIGNATURE.f0 },
  { pid: 0x413, name: 'STM32F40xxx/41xxx', flashStart: 0x08000000, flashSize: 1024 * K, pages: F4_SECTORS, ramStart: 0x20002000, ...SIGNATURE.f4 },
  { pid: 0x419, name: 'STM32F42xxx/43xxx', flashStart: 0x08000000, flashSize: 2048 * K, pages: F4_SECTORS, ramStart: 0x20003000, ...SIGNATURE.f4 },
  { pid: 0x431, name: 'STM32F411xx', flashStart: 0x08000000, flashSize: 512 * K, pages: F4_SECTORS, ramStart: 0x20003000, ...SIGNATURE.f4 },
  { pid: 0x415, name: 'STM32L47x/L48x', flashStart: 0x08000000, flashSize: 1024 * K, pages: [2 * K], ramStart: 0x20003100, ...SIGNATURE.l4 },
  { pid: 0x460, name: 'STM32G07x/G08x', flashStart: 0x08000000, flashSize: 128 * K, pages: [2 * K], ramStart: 0x20004000, ...SIGNATURE.g0 }
]

export function chipByPid(pid: number): Stm32Chip | undefined {
  return STM32_CHIPS.find((c) => c.pid === pid)
}

/** Page indexes covering [start, end) (offsets from flashStart). */
export function pagesCovering(chip: Stm32Chip, offset: number, length: number): number[] {
  const out: number[] = []
  let at = 0
  for (let i = 0; at < chip.flashSize; i++) {
    const size = chip.pages[Math.min(i, chip.pages.length - 1)]!
    if (at + size > offset && at < offset + length) out.push(i)
    if (at >= offset + length) break
    at += size
  }
  return out
}

/** CRC-32 as the STM32 CRC unit computes it: 32-bit little-endian words fed MSB first, poly 0x04C11DB7, init all ones, no final XOR. */
export function stm32Crc(data: Uint8Array, crc = 0xffffffff): number {
  for (let i = 0; i + 3 < data.length; i += 4) {
    const word = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0
    crc = (crc ^ word) >>> 0
    for (let b = 0; b < 32; b++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0
  }
  return crc >>> 0
}
