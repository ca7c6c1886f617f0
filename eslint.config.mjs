// ESLint for the dashboard's browser ES modules (src/openqpu/web/static/*.js):
// syntax, undefined names, unused variables and the rest of ESLint's recommended set,
// and imports of files or names another module does not have (a browser refuses those).
// Run by `make test` (tests/web/test_js_lint.py) when npm is available.
import js from "@eslint/js";
import importPlugin from "eslint-plugin-import";
import globals from "globals";

export default [
  {
    files: ["src/openqpu/web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    plugins: { import: importPlugin },
    rules: {
      ...js.configs.recommended.rules,
      "import/named": "error",
      "import/no-unresolved": "error",
      "import/extensions": ["error", "always"],
      "import/no-cycle": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-implicit-globals": "error",
      eqeqeq: ["error", "smart"],
    },
  },
];
