// ESLint 9 flat config for the extension (TypeScript, type-aware) and the e2e suite (plain ESM).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".cache/**", "tests/extension/artifacts/**"] },
  {
    files: ["extension/**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { project: "./extension/tsconfig.json", tsconfigRootDir: import.meta.dirname + "/.." },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unnecessary-condition": "off",
      "@typescript-eslint/no-confusing-void-expression": "off",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-non-null-assertion": "error",
      eqeqeq: "error",
    },
  },
  {
    // Logic the unit tests run without an editor: it must not import `vscode`.
    files: ["extension/src/lib/**/*.ts", "extension/test/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "extension/src/lib/ runs without an editor (unit tests): keep `vscode` out." }] }],
    },
  },
  {
    files: ["extension/test/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
  {
    files: ["**/*.mjs"],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
);
