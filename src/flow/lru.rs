//! A slab of connections threaded on a recency list: O(1) touch, insert, remove and "oldest",
//! with no allocation once the slab has grown to its bound (freed slots are reused). Values are
//! boxed: the slab grows by doubling, and a slot then costs three words rather than a
//! connection (a 400-byte `Conn` in a doubled slab was 60% of a SYN flood's peak memory).

const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Node<T> {
    value: Option<Box<T>>,
    /// Towards the most recently touched.
    newer: usize,
    /// Towards the least recently touched.
    older: usize,
}

#[derive(Debug)]
pub(super) struct Lru<T> {
    nodes: Vec<Node<T>>,
    free: Vec<usize>,
    newest: usize,
    oldest: usize,
    len: usize,
}

impl<T> Lru<T> {
    pub(super) fn new() -> Self {
        Lru {
            nodes: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Store `value` as the most recent; returns its slot.
    pub(super) fn insert(&mut self, value: T) -> usize {
        let node = Node {
            value: Some(Box::new(value)),
            newer: NIL,
            older: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.link_newest(slot);
        self.len += 1;
        slot
    }

    pub(super) fn get(&self, slot: usize) -> Option<&T> {
        self.nodes.get(slot)?.value.as_deref()
    }

    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.nodes.get_mut(slot)?.value.as_deref_mut()
    }

    /// Mark `slot` as the most recently active.
    pub(super) fn touch(&mut self, slot: usize) {
        if self.get(slot).is_some() && self.newest != slot {
            self.unlink(slot);
            self.link_newest(slot);
        }
    }

    pub(super) fn remove(&mut self, slot: usize) -> Option<T> {
        let value = self.nodes.get_mut(slot)?.value.take()?;
        self.unlink(slot);
        self.free.push(slot);
        self.len -= 1;
        Some(*value)
    }

    /// The least recently active slot.
    pub(super) fn oldest(&self) -> Option<usize> {
        (self.oldest != NIL).then_some(self.oldest)
    }

    fn link_newest(&mut self, slot: usize) {
        let old_newest = self.newest;
        self.nodes[slot].older = old_newest;
        self.nodes[slot].newer = NIL;
        match self.nodes.get_mut(old_newest) {
            Some(n) => n.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }

    fn unlink(&mut self, slot: usize) {
        let (newer, older) = (self.nodes[slot].newer, self.nodes[slot].older);
        match self.nodes.get_mut(newer) {
            Some(n) => n.older = older,
            None => self.newest = older,
        }
        match self.nodes.get_mut(older) {
            Some(n) => n.newer = newer,
            None => self.oldest = newer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_follows_touches_and_slots_are_reused() {
        let mut l = Lru::new();
        let a = l.insert('a');
        let b = l.insert('b');
        let c = l.insert('c');
        assert_eq!(l.oldest(), Some(a));
        l.touch(a);
        assert_eq!(l.oldest(), Some(b));
        assert_eq!(l.remove(b), Some('b'));
        assert_eq!(l.oldest(), Some(c));
        let d = l.insert('d');
        assert_eq!(d, b, "freed slot reused");
        assert_eq!(
            (l.remove(c), l.remove(a), l.oldest()),
            (Some('c'), Some('a'), Some(d))
        );
        assert_eq!(l.remove(d), Some('d'));
        assert_eq!((l.oldest(), l.len(), l.remove(d)), (None, 0, None));
    }
}
