// Which listr2 renderer: the live one on an interactive terminal, one plain line per event elsewhere (CI, pipes).
export type RendererChoice = 'default' | 'simple';

export function chooseRenderer(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): RendererChoice {
  const ci = Boolean(env.CI && env.CI !== 'false' && env.CI !== '0');
  return isTTY && !ci && env.TERM !== 'dumb' ? 'default' : 'simple';
}
