// meta: actions on the run itself rather than on the host. The executor
// carries them out; this definition gives the loader their schema.

import { defineModule } from './define.ts';

export const metaModule = defineModule<{ action: 'reset_connection' | 'flush_handlers' }>({
  name: 'meta',
  description:
    'Act on the run: reset_connection opens the host connection again (through the host\'s current address), flush_handlers runs the notified handlers now.',
  idempotent: true,
  freeForm: 'action',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['action'],
    properties: {
      action: {
        enum: ['reset_connection', 'flush_handlers'],
        description: 'reset_connection: reconnect, e.g. after the host moved to its SSH onion address. flush_handlers: run notified handlers before the next task.',
      },
    },
  },
});
