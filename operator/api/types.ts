/**
 * The CifarTrainingJob API (training.cifar-operator.io/v1alpha1) as TypeScript types.
 * crds/cifartrainingjobs.yaml is the one hand-written source: generated/cifartrainingjob.ts
 * is derived from it (`npm run generate`), with the CRD's descriptions as doc comments.
 * Fields the CRD defaults are optional in the spec types (users may omit them); the
 * Defaulted* types are what withDefaults (defaults.ts) returns.
 * This file adds what the schema does not state.
 */
export * from './generated/cifartrainingjob.js';

/** status.conditions[].type values the operator writes (the CRD keeps `type` a free string, as Kubernetes does). */
export type JobConditionType = 'Created' | 'PodsReady' | 'Running' | 'Restarting' | 'Succeeded' | 'Failed' | 'Suspended';
