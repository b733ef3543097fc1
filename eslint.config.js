// ESLint flat config: type-checked rules for socket code, and a fence around src/protocol.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const NO_IO = [
  'node:net',
  'node:tls',
  'node:http',
  'node:https',
  'node:dgram',
  'node:timers',
  'node:fs',
  'node:child_process',
  'net',
  'tls',
  'fs',
  'pino',
];

/** The protocol layer is pure: no sockets, timers or logger, and nothing from the rest of the program. */
function protocolFence(files, outside) {
  return [
    {
      files,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: NO_IO.map((name) => ({ name, message: 'src/protocol is pure: no I/O.' })),
            patterns: [
              { group: outside, message: 'src/protocol must not import the rest of the program.' },
            ],
          },
        ],
      },
    },
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  ...protocolFence(['src/protocol/*.ts'], ['../*']),
  ...protocolFence(['src/protocol/*/**/*.ts'], ['../../*']),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
