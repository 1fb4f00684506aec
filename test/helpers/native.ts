import { loadNativeAddon } from '../../trainer/engine/backend/native/addon.js';

/** Set by CI (.ci/run), which installs libdnnl-dev: there a missing addon fails the tests instead of skipping them. */
export const REQUIRE_NATIVE_ENV = 'CIFAR_REQUIRE_NATIVE';

/**
 * For `t.test(name, { skip: nativeSkip() }, ...)`: false when the native addon loads (or
 * CI requires it, so that the test runs and fails with the reason), else the skip message.
 */
export function nativeSkip(): string | false {
  const load = loadNativeAddon();
  if (load.addon !== null || process.env[REQUIRE_NATIVE_ENV] === '1') return false;
  return `native backend not available here (${load.reason}); skipping`;
}
