import { useTranslation } from 'react-i18next'
import { Icon, type IconName } from './Icon'

export type RunState = 'idle' | 'running' | 'succeeded' | 'failed' | 'cancelled'

const ICON: Record<RunState, IconName> = { idle: 'pending', running: 'running', succeeded: 'check', failed: 'cross', cancelled: 'cancel' }

/** A result told three ways: colour (class), icon shape and a word. */
export function StatusBadge({ state, large }: { state: RunState; large?: boolean }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <span className={`badge badge--${state}${large ? ' badge--large' : ''}`} data-state={state}>
      <Icon name={ICON[state]} />
      <span>{t(`state.${state}`)}</span>
    </span>
  )
}
