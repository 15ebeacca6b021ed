/** Kubernetes v1 Node: meshbridge reads its labels (topology) and addresses; metadata is checked in common. */
import { asObjectItem, childPath, readList, readObject, readString } from './json.js';
import type { KindValidator } from './resource-context.js';

export const validateNode: KindValidator = (resource, _context, out) => {
  const status = readObject(resource, 'status', [], out);
  if (status === undefined) return;
  (readList(status, 'addresses', ['status'], out) ?? []).forEach((item, i) => {
    const at = childPath(['status', 'addresses'], i);
    const address = asObjectItem(item, at, out, 'A node address');
    if (address === undefined) return;
    readString(address, 'type', at, out);
    readString(address, 'address', at, out);
  });
};
