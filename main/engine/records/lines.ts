import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** One line of an append-only file, with its byte range (end is past the newline, when there is one). */
export interface Line {
  text: string
  /** 1-based, counted from `from`. */
  lineNo: number
  start: number
  end: number
  /** False for a last line without its newline: an append cut short, or one being written right now. */
  terminated: boolean
}

const CHUNK = 64 * 1024

/**
 * The lines of `file` from byte `from` up to its size when opened, read in chunks so a large file is
 * never held whole. Offsets are bytes, so they stay exact with multi-byte UTF-8 text. A missing file
 * has no lines.
 */
export function* readLines(file: string, from = 0): Generator<Line> {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
    throw e
  }
  try {
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(CHUNK)
    let pending: Buffer[] = []
    let lineStart = from
    let pos = from
    let lineNo = 0
    while (pos < size) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos)
      if (n === 0) break
      let at = 0
      for (;;) {
        const nl = buf.indexOf(0x0a, at)
        if (nl === -1 || nl >= n) break
        const piece = buf.subarray(at, nl)
        const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece
        pending = []
        const end = pos + nl + 1
        yield { text: bytes.toString('utf8'), lineNo: ++lineNo, start: lineStart, end, terminated: true }
        lineStart = end
        at = nl + 1
      }
      if (at < n) pending.push(Buffer.from(buf.subarray(at, n)))
      pos += n
    }
    if (pending.length) yield { text: Buffer.concat(pending).toString('utf8'), lineNo: ++lineNo, start: lineStart, end: pos, terminated: false }
  } finally {
    closeSync(fd)
  }
}
