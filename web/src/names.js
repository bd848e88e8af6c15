// Names of candidate accounts, as far as the viewer may read them. Companies
// read the candidates whose profile names them, institutions their trainees;
// asking through the users connection (filtered by the User privacy policy)
// rather than through a non-null edge (Enrollment.candidate, Profile.user)
// keeps one hidden account from failing a whole list: the rows the viewer may
// not read are simply missing and the pages show what they can.
import { useEffect, useState } from 'react';
import { gql } from './api.js';

const USERS = `query CandidateNames($ids: [ID!]!) {
  users(first: 500, where: {idIn: $ids}) { edges { node { id name idNumberMasked } } }
}`;

/** {userID: {name, idNumberMasked}} for the ids the viewer may read; null while loading. */
export function useCandidateNames(ids) {
  const key = [...new Set(ids.filter(Boolean))].sort().join(',');
  const [names, setNames] = useState(null);
  useEffect(() => {
    if (!key) return undefined;
    let live = true;
    gql(USERS, { ids: key.split(',') })
      .then((d) => {
        if (!live) return;
        const m = {};
        for (const e of d.users.edges || []) if (e?.node) m[e.node.id] = e.node;
        setNames(m);
      })
      .catch(() => live && setNames({}));
    return () => {
      live = false;
    };
  }, [key]);
  return names;
}
