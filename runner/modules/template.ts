// template: render a role template on the controller and write the result.

import { fileWriteProperties, planWrittenFile, probeWrittenFile, type CopyArgs } from './copy.ts';
import { defineModule } from './define.ts';
import type { JsonSchema, ModuleContext } from './types.ts';

export interface TemplateArgs extends CopyArgs {
  src: string;
}

const schema: JsonSchema = {
  type: 'object',
  properties: {
    ...fileWriteProperties,
    src: {
      type: 'string',
      minLength: 1,
      description: "Handlebars template in the role's templates/ folder, rendered with the host's variables.",
    },
  },
  required: ['src', 'dest'],
  additionalProperties: false,
};

export const templateModule = defineModule<TemplateArgs>({
  name: 'template',
  description: "Render a template of the role with the host's variables and write it to a file on the host.",
  schema,
  idempotent: true,
  async prepare(args: TemplateArgs, context: ModuleContext): Promise<TemplateArgs> {
    const rendered = await context.renderTemplateFile(args.src);
    return { ...args, contentBase64: Buffer.from(rendered, 'utf8').toString('base64') };
  },
  probe: probeWrittenFile,
  plan: planWrittenFile,
});
