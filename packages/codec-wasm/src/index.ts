export { catalog, messages, REQUEST_HEADER, RESPONSE_HEADER } from './catalog.js';
export type { Catalog, MessageSpec, FieldSpec, FieldType } from './catalog.js';
