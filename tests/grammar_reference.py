"""The plain reference the grammar matcher's fast masks are tested against: walk every candidate
token of the vocabulary, byte by byte, from a state of the stack machine (no suffix splitting,
no caching). Slow, obviously right, and kept out of the package."""

import numpy as np


def _levels(index):
    """Per depth of a byte trie over the candidate tokens: (parent node, byte) of each node, and
    (token ids ending there, their node)."""
    cand = index.candidates
    lens = np.array([len(index.pieces[t]) for t in cand.tolist()], np.int64)
    maxlen = int(lens.max()) if len(lens) else 0
    mat = np.zeros((len(cand), maxlen), np.uint8)
    for i, t in enumerate(cand.tolist()):
        p = index.pieces[t]
        mat[i, : len(p)] = np.frombuffer(p, np.uint8)
    levels = []
    rows = np.arange(len(cand))
    node = np.zeros(len(cand), np.int64)
    for k in range(maxlen):
        keep = lens[rows] > k
        rows, node = rows[keep], node[keep]
        key = node * 256 + mat[rows, k]
        uniq, inv = np.unique(key, return_inverse=True)
        node = inv.reshape(-1)
        ends = lens[rows] == k + 1
        levels.append(((uniq >> 8).astype(np.int64), (uniq & 255).astype(np.int64), cand[rows[ends]], node[ends]))
    return levels


def final_states(index, sm, sid):
    """(token ids, state after each token) for every candidate token, from state sid."""
    cur = np.array([sid], np.int64)
    tids, states = [], []
    for parent, byte, end_tok, end_node in _levels(index):
        key = cur[parent] * 256 + byte
        nxt = sm.table.ravel()[key]
        unknown = nxt < 0
        if unknown.any():
            sm.fill(key[unknown])
            nxt = sm.table.ravel()[key]
        if len(end_tok):
            tids.append(end_tok)
            states.append(nxt[end_node])
        if not nxt.any():
            break
        cur = nxt.astype(np.int64)
    if not tids:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(tids), np.concatenate(states)


def full_walk_mask(cache, sid):
    """The mask MaskCache.mask must give for state sid."""
    m = np.zeros(cache.index.n_vocab, bool)
    if sid:
        tids, states = final_states(cache.index, cache.sm, sid)
        m[tids[states != 0]] = True
        if cache.sm.accepting[sid]:
            m[cache.index.eog_ids] = True
    return m
