//! A list that holds a single element inline. Most users have one authenticator and
//! most transitions produce one event, so copying a record, or turning a step's events
//! into audit events, does not allocate for them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list like `Vec<T>`, with its only element, when it has one, held inline. Reads and
/// writes as a slice; compares, prints and serializes as one.
#[derive(Clone)]
pub(crate) struct Few<T>(Held<T>);

#[derive(Clone)]
enum Held<T> {
    None,
    One(T),
    Many(Vec<T>),
}

impl<T> Few<T> {
    /// An empty list.
    pub(crate) const fn new() -> Few<T> {
        Few(Held::None)
    }

    /// Adds an element after the others.
    pub(crate) fn push(&mut self, value: T) {
        self.0 = match std::mem::replace(&mut self.0, Held::None) {
            Held::None => Held::One(value),
            Held::One(first) => Held::Many(vec![first, value]),
            Held::Many(mut all) => {
                all.push(value);
                Held::Many(all)
            }
        };
    }

    /// Takes out the element at `index`, moving the later ones up; `None` past the end.
    pub(crate) fn remove(&mut self, index: usize) -> Option<T> {
        match &mut self.0 {
            Held::One(_) if index == 0 => match std::mem::replace(&mut self.0, Held::None) {
                Held::One(only) => Some(only),
                _ => None,
            },
            Held::Many(all) if index < all.len() => {
                let removed = all.remove(index);
                // Back to the inline form when one is left, as if made that way.
                if all.len() <= 1 {
                    let rest = std::mem::take(all);
                    *self = Few::from(rest);
                }
                Some(removed)
            }
            _ => None,
        }
    }

    /// Whether the elements are held inline (none, or only one), for the tests.
    #[cfg(test)]
    fn is_inline(&self) -> bool {
        !matches!(self.0, Held::Many(_))
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.0 = Held::None;
    }

    /// The elements, in order.
    pub(crate) fn as_slice(&self) -> &[T] {
        match &self.0 {
            Held::None => &[],
            Held::One(only) => std::slice::from_ref(only),
            Held::Many(all) => all,
        }
    }

    /// The elements, in order, to change.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Held::None => &mut [],
            Held::One(only) => std::slice::from_mut(only),
            Held::Many(all) => all,
        }
    }
}

impl<T> Default for Few<T> {
    fn default() -> Few<T> {
        Few::new()
    }
}

impl<T> std::ops::Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> std::ops::DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Few<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for Few<T> {}

impl<T: fmt::Debug> fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T> From<T> for Few<T> {
    fn from(only: T) -> Few<T> {
        Few(Held::One(only))
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut all: Vec<T>) -> Few<T> {
        match all.len() {
            0 => Few::new(),
            1 => all.pop().map_or_else(Few::new, Few::from),
            _ => Few(Held::Many(all)),
        }
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Few<T> {
        let mut few = Few::new();
        few.extend(values);
        few
    }
}

impl<T> Extend<T> for Few<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        values.into_iter().for_each(|value| self.push(value));
    }
}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T> IntoIterator for Few<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter(match self.0 {
            Held::None => Taken::One(None),
            Held::One(only) => Taken::One(Some(only)),
            Held::Many(all) => Taken::Many(all.into_iter()),
        })
    }
}

/// The elements of a [`Few`], in order, by value.
#[derive(Debug)]
pub(crate) struct IntoIter<T>(Taken<T>);

#[derive(Debug)]
enum Taken<T> {
    One(Option<T>),
    Many(std::vec::IntoIter<T>),
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match &mut self.0 {
            Taken::One(only) => only.take(),
            Taken::Many(all) => all.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Taken::One(only) => (usize::from(only.is_some()), Some(usize::from(only.is_some()))),
            Taken::Many(all) => all.size_hint(),
        }
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Few<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Few<T>, D::Error> {
        Vec::deserialize(deserializer).map(Few::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> impl Iterator<Item = Vec<u32>> {
        (0..5).map(|n| (0..n).collect())
    }

    #[test]
    fn reads_and_takes_its_elements_in_order_whether_inline_or_not() {
        for all in lists() {
            let mut few = Few::new();
            few.extend(all.iter().copied());
            assert_eq!(few.as_slice(), all.as_slice());
            assert_eq!(Few::from(all.clone()), few, "however it was made");
            assert_eq!(all.iter().copied().collect::<Few<_>>(), few);
            assert_eq!((&few).into_iter().count(), all.len());
            let taken = few.clone().into_iter();
            assert_eq!(taken.len(), all.len());
            assert_eq!(taken.collect::<Vec<_>>(), all);
            assert_eq!(format!("{few:?}"), format!("{all:?}"));
            assert_eq!(
                serde_json::to_string(&few).expect("writes"),
                serde_json::to_string(&all).expect("writes")
            );
            let read: Few<u32> =
                serde_json::from_str(&serde_json::to_string(&all).expect("writes")).expect("reads");
            assert_eq!(read, few);
            few.as_mut_slice().iter_mut().for_each(|value| *value += 10);
            assert_eq!(few.iter().map(|value| value - 10).collect::<Vec<_>>(), all);
        }
    }

    #[test]
    fn removes_at_a_place_like_a_vec_and_refuses_a_place_past_the_end() {
        for all in lists() {
            for index in 0..=all.len() {
                let (mut few, mut vec) = (Few::<u32>::from(all.clone()), all.clone());
                let removed = few.remove(index);
                assert_eq!(removed, (index < vec.len()).then(|| vec.remove(index)));
                assert_eq!(few.as_slice(), vec.as_slice());
                assert_eq!(few.is_inline(), vec.len() <= 1, "one element left is held inline");
                few.push(99);
                vec.push(99);
                assert_eq!(few.as_slice(), vec.as_slice());
            }
            let mut few = Few::<u32>::from(all);
            few.clear();
            assert!(few.is_empty());
        }
    }
}
