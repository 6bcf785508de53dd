import { useTranslation } from 'react-i18next'
import type { ApiError, AppInfo, JobView } from '../../../preload/contract'
import { hintsFor, isPortOpenFailure, type Failure } from '../hints'
import { Icon } from './Icon'
import { PortHelp } from './PortHelp'

export function failureOfJob(job: JobView): Failure {
  return { code: job.error?.code, kind: job.error?.kind, reason: job.reason, message: job.message, protocol: job.protocol }
}

export function failureOfError(error: ApiError, protocol?: Failure['protocol']): Failure {
  return { code: error.code, kind: error.kind, message: error.message, protocol }
}

/** What to do about a failure: its hints, and the OS's port help when the port would not open. */
export function Hints({ failure, platform }: { failure: Failure; platform?: AppInfo['platform'] }): React.JSX.Element | null {
  const { t } = useTranslation()
  const keys = hintsFor(failure)
  if (keys.length === 0) return null
  return (
    <div className="hints">
      <ul className="hints__list">
        {keys.map((k) => (
          <li key={k} className="hint" data-hint={k}>
            <Icon name="info" />
            <span>{t(`hint.${k}`)}</span>
          </li>
        ))}
      </ul>
      {isPortOpenFailure(failure) && <PortHelp platform={platform} />}
    </div>
  )
}

/** An API call's failure: the kind translated, the engine's own words, and the hints. */
export function ErrorBox({ error, protocol, platform }: { error: ApiError; protocol?: Failure['protocol']; platform?: string }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <div className="error-box" role="alert" data-code={error.code}>
      <p className="error-box__title">
        <Icon name="warning" />
        <span>{t(`errorKind.${knownKind(error.kind)}`)}</span>
      </p>
      <p className="error-box__message">
        <span className="visually-hidden">{t('common.engineSays')}</span>
        <code>{error.message}</code>
      </p>
      <Hints failure={failureOfError(error, protocol)} platform={platform} />
    </div>
  )
}

const KINDS = ['usage', 'download', 'integrity', 'device', 'platform', 'interrupted', 'internal', 'forbidden'] as const
type Kind = (typeof KINDS)[number]
export const knownKind = (kind: string): Kind => ((KINDS as readonly string[]).includes(kind) ? (kind as Kind) : 'internal')
