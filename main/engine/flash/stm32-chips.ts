/**
 * STM32 parts by the PID the system bootloader reports (Get ID), with the flash layout we need to
 * erase only what an image touches and to refuse an image that does not fit before erasing.
 * Sizes are the largest part of each family line; the bootloader cannot tell variants apart.
 */
export interface Stm32Chip {
  pid: number
  name: string
  flashStart: number
  flashSize: number
  /** Page (or sector) sizes from flashStart, in order; the last entry repeats to the end. */
  pages: number[]
  ramStart: number
}

const K = 1024
const F4_SECTORS = [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, 128 * K]

export const STM32_CHIPS: Stm32Chip[] = [
  { pid: 0x410, name: 'STM32F10xxx medium-density', flashStart: 0x08000000, flashSize: 128 * K, pages: [1 * K], ramStart: 0x20000200 },
  { pid: 0x412, name: 'STM32F10xxx low-density', flashStart: 0x08000000, flashSize: 32 * K, pages: [1 * K], ramStart: 0x20000200 },
  { pid: 0x414, name: 'STM32F10xxx high-density', flashStart: 0x08000000, flashSize: 512 * K, pages: [2 * K], ramStart: 0x20000200 },
  { pid: 0x420, name: 'STM32F10xxx medium-density value line', flashStart: 0x08000000, flashSize: 128 * K, pages: [1 * K], ramStart: 0x20000200 },
  { pid: 0x440, name: 'STM32F030x8/F05xxx', flashStart: 0x08000000, flashSize: 64 * K, pages: [1 * K], ramStart: 0x20000800 },
  { pid: 0x413, name: 'STM32F40xxx/41xxx', flashStart: 0x08000000, flashSize: 1024 * K, pages: F4_SECTORS, ramStart: 0x20002000 },
  { pid: 0x419, name: 'STM32F42xxx/43xxx', flashStart: 0x08000000, flashSize: 2048 * K, pages: F4_SECTORS, ramStart: 0x20003000 },
  { pid: 0x431, name: 'STM32F411xx', flashStart: 0x08000000, flashSize: 512 * K, pages: F4_SECTORS, ramStart: 0x20003000 },
  { pid: 0x415, name: 'STM32L47x/L48x', flashStart: 0x08000000, flashSize: 1024 * K, pages: [2 * K], ramStart: 0x20003100 },
  { pid: 0x460, name: 'STM32G07x/G08x', flashStart: 0x08000000, flashSize: 128 * K, pages: [2 * K], ramStart: 0x20004000 }
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
