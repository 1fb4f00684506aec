export declare const CLUSTER_DOMAIN: string;
export declare function searchCandidates(name: string, namespace: string, clusterDomain?: string): string[];
export declare function resolveHost(name: string, hosts: Readonly<Record<string, readonly string[]>>, namespace: string, clusterDomain?: string): readonly string[] | undefined;
