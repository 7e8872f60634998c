import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { Flags } from '@oclif/core';
import { DIALECTS } from '../../src/codec/generated/index.js';
import { colorWanted } from '../../src/color.js';
import { runTerminalClient } from '../../src/reference-client/tui.js';
import { ChatkitCommand } from '../base.js';
import { addressArg, EXIT_USAGE, framingFlag, intFlag, promptFlag } from '../flags.js';
import { splitFirstLine } from '../stdin.js';

/** `chatkit connect`: chat from a terminal, or send scripted lines from a pipe. */
export default class Connect extends ChatkitCommand {
  static override summary = 'Join a chat server (NICK or tilde dialect) from the terminal.';

  static override description =
    'On a terminal: a prompt; incoming messages print above the line you are typing; /quit leaves, /help lists commands. With standard input from a pipe or file (scripted mode): the nickname is the first line unless --nick is given, then each line is one message, sent only after the previous one came back from the server (so messages never merge), and at the end of input it exits 0. --dialect auto (the default) waits briefly for a prompt: a NICK server sends one at once, a tilde server waits for the username.';

  static override examples = [
    {
      description: 'join the NICK server of the tutorials on its default port',
      command: '<%= config.bin %> connect 127.0.0.1:55555 --nick alice',
    },
    {
      description: 'a tilde server, dialect named',
      command: '<%= config.bin %> connect 127.0.0.1:9999 --dialect tilde --nick zoë',
    },
    {
      description: "the advanced tutorial's admin, on a server with the commands and rooms profiles too",
      command: '<%= config.bin %> connect 127.0.0.1:55555 --nick admin --admin-password s3cret --extensions admin,commands,rooms',
    },
    {
      description: 'scripted: the first line is the nickname, then one message per line',
      command: "printf 'bob\\nhello\\nbye\\n' | <%= config.bin %> connect 127.0.0.1:55555",
    },
  ];

  static override args = {
    address: addressArg({
      description: 'HOST:PORT of the server [default: 127.0.0.1:55555]',
      required: false,
    }),
  };

  static override flags = {
    dialect: Flags.option({
      options: ['auto', 'nick', 'tilde'] as const,
      default: 'auto' as const,
      description: 'wire dialect; auto detects it from whether the server prompts first',
    })(),
    nick: Flags.string({
      char: 'n',
      description: 'nickname (username); asked for on a terminal, first input line otherwise',
    }),
    prompt: promptFlag,
    framing: framingFlag,
    'connect-timeout-ms': intFlag('bound on establishing the connection [default: 5000]', 1),
    'handshake-timeout-ms': intFlag('bound on the handshake [default: 10000]', 1),
    'admin-password': Flags.string({
      description: 'nick, admin profile (spec §14.2): the password to answer PASS with when your nickname is admin',
      helpValue: 'PASSWORD',
    }),
    extensions: Flags.string({
      description:
        'nick: the extension profiles the server speaks (spec §14), comma-separated: admin, commands, rooms; /help lists their commands',
      helpValue: 'LIST',
      multiple: true,
      delimiter: ',',
      options: ['admin', 'commands', 'rooms'],
    }),
  };

  async run(): Promise<number> {
    const { args, flags } = await this.parse(Connect);
    const address = args.address ?? { host: DIALECTS.nick.defaults.host, port: DIALECTS.nick.defaults.port };
    const isTTY = process.stdin.isTTY === true;
    let input: Readable = process.stdin;
    let nick = flags.nick;
    if (nick === undefined && isTTY) {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      nick = (await rl.question('Choose your nickname: ')).trim();
      rl.close();
    } else if (nick === undefined) {
      const split = await splitFirstLine(process.stdin);
      nick = split.first;
      input = split.rest;
    }
    if (!nick)
      this.fail('NICKNAME_EMPTY', 'no nickname: give --nick, or type it as the first line', EXIT_USAGE);
    const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
    const code = await runTerminalClient({
      host: address.host,
      port: address.port,
      dialect: flags.dialect,
      nick,
      framing: flags.framing,
      input,
      output: process.stdout,
      errorOutput: process.stderr,
      isTTY,
      color: colorWanted(process.stdout),
      ...optional('prompt', flags.prompt),
      ...optional('adminPassword', flags['admin-password']),
      ...optional('extensions', flags.extensions as ('admin' | 'commands' | 'rooms')[] | undefined),
      ...optional('connectTimeoutMs', flags['connect-timeout-ms']),
      ...optional('handshakeTimeoutMs', flags['handshake-timeout-ms']),
    });
    // The session is over: a pipe that stays open must not keep the process alive (CLIENT-EOF-1).
    process.stdin.unpipe();
    process.stdin.destroy();
    process.exitCode = code;
    return code;
  }
}
