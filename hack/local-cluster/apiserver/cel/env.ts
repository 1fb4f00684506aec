/**
 * The CEL environment x-kubernetes-validations rules run in: @bufbuild/cel's standard
 * library, the strings extension (Kubernetes enables cel-go's ext.Strings), and the
 * global form of matches() that cel-go's standard library has. The checker reads its
 * overloads from this same environment, so what type-checks is what can run.
 *
 * Not provided (a rule using them is refused as an undeclared reference): the Kubernetes
 * lists, regex, url, quantity, ip/cidr, format and authz libraries, and optional types.
 */
import { celEnv, celFunc, CelScalar, type CelEnv } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

const globalMatches = celFunc('matches', [CelScalar.STRING, CelScalar.STRING], CelScalar.BOOL, (text, pattern) => {
  const found = env.funcs.find('matches');
  const result = found?.call(0, text, [pattern]);
  if (typeof result !== 'boolean') throw result instanceof Error ? result : new Error('matches() failed');
  return result;
});

export const env: CelEnv = celEnv({ funcs: [...strings, globalMatches] });

/** The variables every rule may name; both have the type of the rule's schema node. */
export const RULE_VARIABLES = ['self', 'oldSelf'] as const;
