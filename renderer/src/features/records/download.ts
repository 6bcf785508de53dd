/** Hands text to the browser as a file download (a Blob link; no navigation, no server). */
export function downloadText(fileName: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.hidden = true
  document.body.appendChild(a)
  a.click()
  a.remove()
  // the download has its own reference by now
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
