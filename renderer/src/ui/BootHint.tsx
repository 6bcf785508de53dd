import { useTranslation } from 'react-i18next'
import type { ProtocolName } from '../../../preload/contract'
import { bootHintFor } from '../hints'
import { Icon } from './Icon'

/** How to put a board of this protocol into its bootloader. */
export function BootHint({ protocol }: { protocol: ProtocolName }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <p className="boot-hint" data-protocol={protocol}>
      <Icon name="info" />
      <span>{t(`hint.${bootHintFor(protocol)}`)}</span>
    </p>
  )
}
