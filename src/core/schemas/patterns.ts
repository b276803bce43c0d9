/** Patterns shared by the schemas and the metadata checks, with what each means in words. */

export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
export const IANA_SVC_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
export const DURATION = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const IPV4 =
  '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';
export const IP = `^(${IPV4.slice(1, -1)}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$`;
export const CIDR =
  '^(((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$';
export const HTTP_PATH = '^/[^\\s]*$';

/** How a failed pattern is explained; patterns not listed here are quoted. */
export const PATTERN_MEANING: Readonly<Record<string, string>> = {
  [DNS1123_LABEL]:
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
  [DNS1123_SUBDOMAIN]:
    'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
  [DNS1035_LABEL]:
    'must be a DNS-1035 label: lower-case letters, digits and "-", starting with a letter and ending with a letter or digit',
  [QUALIFIED_NAME]:
    'must be a qualified name: an optional DNS subdomain prefix and "/", then letters, digits, "-", "_" or "."',
  [LABEL_VALUE]:
    'must be empty or letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  [DURATION]: 'must be a duration such as 500ms, 3s, 5m or 1h30m',
  [IP]: 'must be an IP address',
  [IPV4]: 'must be an IPv4 address',
  [CIDR]: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8',
  [HTTP_PATH]: 'must be an absolute HTTP path starting with "/"',
};
