// The runtime's own ceiling for the download bench: Node's https client reading the package and
// discarding it (no hash, no disk), timed from request to last byte. Prints MiB/s.
import https from 'node:https'
import { readFileSync } from 'node:fs'

const [url, caFile] = process.argv.slice(2)
const ca = readFileSync(caFile, 'utf8')
const t0 = performance.now()
let bytes = 0
https
  .get(url, { ca }, (res) => {
    res.on('data', (c) => (bytes += c.length))
    res.on('end', () => process.stdout.write(String(bytes / 1024 / 1024 / ((performance.now() - t0) / 1000))))
  })
  .on('error', (e) => {
    process.stderr.write(e.message)
    process.exit(1)
  })
