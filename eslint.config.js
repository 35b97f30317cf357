import globals from 'globals'
import neostandard from 'neostandard'

// The Fastify ecosystem's own style (neostandard), with TypeScript.
export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', 'scratch/**', 'test-artifacts/**', '.tap/**', 'node_modules/**']
  }),
  {
    rules: {
      // `void promise` marks a promise deliberately not awaited (its errors are handled inside it).
      'no-void': ['error', { allowAsStatement: true }],
      // `for await (const first of stream) return first`: taking the first item of an iterable.
      'no-unreachable-loop': ['error', { ignore: ['ForOfStatement'] }]
    }
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `_name` marks what is deliberately unused (a drained iterable's items, an ignored argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }]
    }
  },
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: globals.browser }
  }
]
