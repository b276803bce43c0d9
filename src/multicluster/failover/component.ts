/** The `source.component` of the operator's Events. */
export const FAILOVER_COMPONENT = 'strait-failover';
