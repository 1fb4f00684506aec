/**
 * Values the cluster operator sets once for every job (operator flags, set by the Helm
 * chart) and a job may override: the trainer image and the trainer ServiceAccount.
 */
import type { DefaultedSpec } from '../api/defaults.js';

export interface OperatorDefaults {
  /** --default-trainer-image: used when spec.image is unset. */
  trainerImage?: string;
  /** --default-trainer-service-account: used when spec.serviceAccountName is unset. */
  trainerServiceAccount?: string;
}

export function trainerImage(spec: Pick<DefaultedSpec, 'image'>, defaults: OperatorDefaults): string | undefined {
  return spec.image ?? defaults.trainerImage;
}

export function trainerServiceAccount(spec: Pick<DefaultedSpec, 'serviceAccountName'>, defaults: OperatorDefaults): string | undefined {
  return spec.serviceAccountName ?? defaults.trainerServiceAccount;
}
