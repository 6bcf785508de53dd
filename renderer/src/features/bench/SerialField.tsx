import { useEffect, useId, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { checkSerial } from '../../serial'
import { Icon } from '../../ui/Icon'

const EDITABLE = 'input, textarea, select, [contenteditable="true"], [role="dialog"], label, summary'

/** True while some other field or a dialog legitimately has the keyboard. */
function focusBelongsElsewhere(target: EventTarget | null): boolean {
  if (document.querySelector('[aria-modal="true"]')) return true
  return target instanceof Element && target.closest(EDITABLE) !== null
}

/**
 * The serial-number field for a barcode scanner (a keyboard that types the code and Enter). It keeps
 * the keyboard: after a click anywhere that is not another field, and when focus falls to the page,
 * it takes focus back. Enter checks the code against the pattern; a good one is handed over and the
 * field cleared for the next unit, a bad one stays selected so the next scan replaces it.
 */
export function SerialField({ pattern, current, onScan }: { pattern: string | undefined; current: string | undefined; onScan: (serial: string) => void }): React.JSX.Element {
  const { t } = useTranslation()
  const ref = useRef<HTMLInputElement>(null)
  const id = useId()
  const [text, setText] = useState('')
  const [problem, setProblem] = useState<'empty' | 'mismatch' | 'bad-pattern' | null>(null)

  useEffect(() => {
    const refocus = (): void => {
      const input = ref.current
      if (input && document.activeElement !== input && !input.disabled) input.focus()
    }
    const onClick = (e: MouseEvent): void => {
      if (!focusBelongsElsewhere(e.target)) refocus()
    }
    const onFocusOut = (e: FocusEvent): void => {
      if (e.target !== ref.current || e.relatedTarget !== null) return
      // focus fell to the page (a click on nothing, a removed button): take it back once things settle
      setTimeout(() => {
        if (!focusBelongsElsewhere(document.activeElement === document.body ? null : document.activeElement)) refocus()
      }, 0)
    }
    document.addEventListener('click', onClick)
    document.addEventListener('focusout', onFocusOut)
    refocus()
    return () => {
      document.removeEventListener('click', onClick)
      document.removeEventListener('focusout', onFocusOut)
    }
  }, [])

  const submit = (): void => {
    const r = checkSerial(text, pattern)
    if (r.ok) {
      setProblem(null)
      setText('')
      onScan(r.value)
    } else {
      setProblem(r.problem)
      ref.current?.select()
    }
  }

  return (
    <div className={`serial-field${problem ? ' serial-field--invalid' : ''}`}>
      <label htmlFor={id}>{t('serial.label')}</label>
      <input
        ref={ref}
        id={id}
        className="serial-field__input mono"
        value={text}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={problem !== null}
        aria-describedby={`${id}-status`}
        onChange={(e) => {
          setText(e.target.value)
          if (problem) setProblem(null)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault()
            submit()
          }
        }}
        placeholder={t('serial.placeholder')}
      />
      <p id={`${id}-status`} className="serial-field__status" role={problem ? 'alert' : 'status'}>
        {problem ? (
          <>
            <Icon name="cross" />
            <span>{t(`serial.problem.${problem}`, { pattern: pattern ?? '' })}</span>
          </>
        ) : current ? (
          <>
            <Icon name="check" />
            <span>{t('serial.next', { serial: current })}</span>
          </>
        ) : (
          <span>{t('serial.waiting')}</span>
        )}
      </p>
    </div>
  )
}
