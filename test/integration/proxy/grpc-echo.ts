// A small gRPC service for proxy tests, described at run time (no generated
// code): test.echo.Echo with unary Say and Wait and a server-streaming Count.
import { create, createFileRegistry, type Message } from '@bufbuild/protobuf';
import type { GenMessage, GenService } from '@bufbuild/protobuf/codegenv2';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

const STRING = 9;
const OPTIONAL = 1;

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/echo.proto',
    package: 'test.echo',
    syntax: 'proto3',
    messageType: [
      { name: 'Text', field: [{ name: 'text', jsonName: 'text', number: 1, type: STRING, label: OPTIONAL }] },
    ],
    service: [
      {
        name: 'Echo',
        method: [
          { name: 'Say', inputType: '.test.echo.Text', outputType: '.test.echo.Text' },
          { name: 'Wait', inputType: '.test.echo.Text', outputType: '.test.echo.Text' },
          {
            name: 'Count',
            inputType: '.test.echo.Text',
            outputType: '.test.echo.Text',
            serverStreaming: true,
          },
        ],
      },
    ],
  }),
  () => undefined,
);

/** test.echo.Echo: `Say` and `Wait` (unary) and `Count` (server streaming), each on `test.echo.Text { text }`. */
/** test.echo.Text */
export type Text = Message<'test.echo.Text'> & { text: string };
type TextSchema = GenMessage<Text>;
type Unary = { methodKind: 'unary'; input: TextSchema; output: TextSchema };

export const EchoService = registry.getService('test.echo.Echo') as unknown as GenService<{
  say: Unary;
  wait: Unary;
  count: { methodKind: 'server_streaming'; input: TextSchema; output: TextSchema };
}>;
