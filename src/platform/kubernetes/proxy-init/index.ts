export { applyProxyInit, type IptablesRunner, iptablesRunner, removeProxyInit } from './apply.ts';
export { formatPortList, type PortRange, parsePortList } from './ports.ts';
export {
  chainRules,
  DEFAULT_PROXY_UID,
  defaultProxyInitConfig,
  INBOUND_CHAIN,
  type IptablesRule,
  JUMPS,
  OUTBOUND_CHAIN,
  type ProxyInitConfig,
} from './rules.ts';
