//! Opaque page cursors: DynamoDB's `LastEvaluatedKey` (string attributes only, as every key
//! and index key of invsync's tables is) as hex-encoded JSON, so it survives a URL or a shell.
//! A cursor that does not decode is `StoreError::Corrupt` starting with
//! [`domain::console::page::BAD_CURSOR`] (the console answers it as a bad request).

use super::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::console::page::BAD_CURSOR;
use domain::console::{Cursor, PageRequest};
use domain::ports::StoreError;
use std::collections::BTreeMap;

/// The cursor of `last` (`None` when the query ended).
pub(crate) fn encode(last: Option<&Item>) -> Result<Option<Cursor>, StoreError> {
    let Some(last) = last.filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let mut map = BTreeMap::new();
    for (name, value) in last {
        let AttributeValue::S(text) = value else {
            return Err(StoreError::Corrupt(format!(
                "page key attribute {name} is not a string"
            )));
        };
        map.insert(name.as_str(), text.as_str());
    }
    let json = serde_json::to_string(&map).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(Cursor::new(
        json.bytes().map(|b| format!("{b:02x}")).collect::<String>(),
    )))
}

/// The `ExclusiveStartKey` of `page`'s cursor.
pub(crate) fn decode(page: &PageRequest) -> Result<Option<Item>, StoreError> {
    let Some(cursor) = &page.cursor else {
        return Ok(None);
    };
    let bad = || StoreError::Corrupt(BAD_CURSOR.to_string());
    let text = cursor.as_str();
    if text.len() % 2 != 0 || text.len() > 8_192 {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(Some(map.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect()))
}

/// The page size DynamoDB is asked for.
pub(crate) fn limit(page: &PageRequest) -> i32 {
    i32::try_from(page.limit()).unwrap_or(PageRequest::MAX_LIMIT as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_cursor_round_trips_and_a_forged_one_is_refused() {
        let key: Item = HashMap::from([
            ("dc".to_string(), AttributeValue::S("DC01".into())),
            ("task_key".to_string(), AttributeValue::S("bal:DC01/A/B".into())),
        ]);
        let cursor = encode(Some(&key)).unwrap().unwrap();
        let back = decode(&PageRequest::after(10, cursor)).unwrap().unwrap();
        assert_eq!(back, key);
        for forged in ["zz", "abc", "7b7d7"] {
            assert!(decode(&PageRequest::after(10, Cursor::new(forged))).is_err());
        }
        assert_eq!(encode(None).unwrap(), None);
    }
}
