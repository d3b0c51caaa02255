import { broadcastChannelCoordination } from './broadcastChannelTransport';
import { nativeCoordination, nativeCoordinationAvailable } from './nativeCoordination';
import type { CoordinationFactory } from './transport';

/**
 * The coordination `createAuthClient` uses unless told otherwise, chosen when a client mounts: the native one
 * (BroadcastChannel + Web Locks election) wherever both APIs exist, which is every current browser; otherwise
 * broadcast-channel, loaded on demand, with its IndexedDB/localStorage transports and message-based election.
 */
export function defaultCoordination(): CoordinationFactory {
  const native = nativeCoordination();
  let fallback: CoordinationFactory | undefined;
  return (channelName) => {
    if (nativeCoordinationAvailable()) return native(channelName);
    fallback ??= broadcastChannelCoordination();
    return fallback(channelName);
  };
}
