import { createContext, useContext } from "react";
import type { Info, Role } from "./api";

export interface Session {
  info: Info;
  role: Role;
  can: (role: Role) => boolean;
  signOut: () => void;
}

const RANK: Record<Role, number> = { reader: 0, operator: 1, admin: 2 };

export function sessionOf(info: Info, signOut: () => void): Session {
  return { info, role: info.role, can: (role) => RANK[info.role] >= RANK[role], signOut };
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}
