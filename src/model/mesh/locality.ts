/** A locality split into its parts (E-ATTR-4): region/zone/subzone; missing parts are ''. */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

export const NO_LOCALITY: Locality = { region: '', zone: '', subzone: '' };

/** E-ATTR-4: split on '/', anything after the third segment dropped. */
export function parseLocality(s: string): Locality {
  const [region = '', zone = '', subzone = ''] = s.split('/');
  return { region, zone, subzone };
}

export function formatLocality(l: Locality): string {
  if (l.subzone !== '') return `${l.region}/${l.zone}/${l.subzone}`;
  if (l.zone !== '') return `${l.region}/${l.zone}`;
  return l.region;
}

/** E-ATTR-3: a locality label value with no '/' has '.' replaced by '/' ("r.z.s" -> "r/z/s"). */
export function localityFromLabel(v: string): string {
  return v.includes('/') ? v : v.replaceAll('.', '/');
}
