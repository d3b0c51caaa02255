import { describe, expect, it } from 'vitest';
import { PROTOCOL as TAB_PROTOCOL } from '../../../src/core/coordination/tabMessages';
import { parts, recordingChannel, record } from './parts';

describe('Peers and RecordSync (the channel)', () => {
  it('one broadcast per record this tab makes; a newer record from another tab is adopted; own and foreign ones are not', () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    p.sync.publish(record(1, 0));
    expect(posted).toEqual([
      expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 1 }), ageMs: 0, from: 'tab-a', protocol: TAB_PROTOCOL }),
    ]);
    deliver({ type: 'state', state: record(2, 0), ageMs: 5, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'tab-b' });
    expect(p.state.version).toBe(2);
    deliver({ type: 'state', state: record(3, 0), protocol: TAB_PROTOCOL, namespace: 'ns', from: 'tab-a' }); // an echo of our own
    deliver({ type: 'state', state: record(4, 0), protocol: 'other/1', namespace: 'ns', from: 'tab-b' });
    deliver({ type: 'state', state: { ...record(5, 0), version: 2 ** 53 }, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'tab-b' });
    expect(p.state.version).toBe(2);
    expect(p.events.filter((event) => event.type === 'message-dropped')).toEqual([
      { type: 'message-dropped', reason: 'foreign' },
      { type: 'message-dropped', reason: 'version-out-of-range' },
    ]);
    expect(posted).toHaveLength(1);
  });

  it("a record this tab makes leaves before this tab's own listeners run", () => {
    const p = parts();
    const { channel, posted } = recordingChannel();
    p.peers.attach(channel);
    const postedWhenAdopted: number[] = [];
    p.state.onTransition(() => postedWhenAdopted.push(posted.length));
    p.sync.publish(record(1, 0));
    expect(postedWhenAdopted).toEqual([1]);
    expect(p.state.version).toBe(1);
  });

  it('a hello is answered with the record this tab holds and its age', () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    p.state.adopt(record(7, p.clock.now()), 'this-tab');
    deliver({ type: 'leader-hello', protocol: TAB_PROTOCOL, namespace: 'ns', from: 'tab-b' });
    expect(posted).toEqual([expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 7 }), ageMs: 0 })]);
  });

  it('an age query is answered by the tab that made the pair, or a leader with a measure; malformed or forged ones are dropped', () => {
    const p = parts();
    const { channel, posted, deliver } = recordingChannel();
    p.peers.attach(channel);
    p.state.adopt(record(7, p.clock.now()), 'storage');
    const query = (version: unknown) => deliver({ type: 'age-query', version, protocol: TAB_PROTOCOL, namespace: 'ns', from: 'tab-b' });
    posted.length = 0;
    p.state.setLeadership({ isLeader: true });
    query(7);
    expect(posted).toEqual([]); // a leader whose age of the pair is a wall-clock estimate of its own has nothing to add
    p.state.adopt(record(8, p.clock.now()), 'channel', 2_000);
    query(8);
    // A leader with the sender's measure answers (chaos seed 2268: the maker had closed).
    expect(posted).toEqual([expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 8 }), ageMs: 2_000, confirms: true })]);
    posted.length = 0;
    p.state.setLeadership({ isLeader: false });
    query(8);
    expect(posted).toEqual([]); // a follower answers only for a pair it made
    p.state.adopt(record(9, p.clock.now()), 'this-tab');
    query(9);
    // A follower that made it answers (chaos seed 812: the maker was a follower and the leader was frozen).
    expect(posted).toEqual([expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 9 }), ageMs: 0, confirms: true })]);
    posted.length = 0;
    query(6); // another version: nothing to say
    query('7');
    query(2 ** 53);
    expect(posted).toEqual([]);
    query(9);
    expect(posted).toEqual([expect.objectContaining({ type: 'state', state: expect.objectContaining({ version: 9 }), ageMs: 0, confirms: true })]);
    expect(p.events.filter((event) => event.type === 'message-dropped').map((event) => event.type === 'message-dropped' && event.reason)).toEqual([
      'malformed',
      'version-out-of-range',
    ]);
  });
});
