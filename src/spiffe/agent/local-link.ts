/** The in-process CA link of `flyme agent --ca local`: the agent is registered with its own CA directly. */
import type { Authority } from '../../ca/authority.js';
import type { CaLink, CaState, Minted } from './ca-link.js';

export async function localCaLink(authority: Authority, agentId: string): Promise<CaLink> {
  await authority.registerLocalAgent(agentId);
  return {
    agentId,
    onState: (fn: (s: CaState) => void) => authority.subscribe(agentId, fn),
    mintX509: (entryId, csr): Promise<Minted> => authority.mintX509(agentId, entryId, csr).then((s) => ({ chain: s.chain, expiresAt: s.expiresAt })),
    mintJwt: (entryId, audience) => authority.mintJwt(agentId, entryId, audience),
    close: async () => undefined,
  };
}
