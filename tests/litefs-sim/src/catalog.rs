//! Plausible grocery catalogue content: names, prices and barcodes.
//!
//! Shared by the generator (bulk rows) and the workload (new products), so
//! both draw from the same vocabulary. Everything is a function of the RNG.

use fastrand::Rng;

pub(crate) const DEPARTMENTS: &[&str] = &[
    "Produce",
    "Dairy",
    "Meat",
    "Seafood",
    "Bakery",
    "Deli",
    "Frozen",
    "Grocery",
    "Beverages",
    "Beer & Wine",
    "Snacks",
    "Breakfast",
    "Canned Goods",
    "Pasta & Rice",
    "Baking",
    "Condiments",
    "International",
    "Health & Beauty",
    "Household",
    "Paper Goods",
    "Pet",
    "Baby",
    "Floral",
    "Bulk",
    "Prepared Foods",
    "Cheese",
    "Coffee & Tea",
    "Natural & Organic",
    "Pharmacy",
    "Seasonal",
];

/// Tax rates: name, rate in basis points, jurisdiction.
pub(crate) const TAX_RATES: &[(&str, i64, &str)] = &[
    ("Exempt", 0, "US"),
    ("Food", 225, "CA-LA"),
    ("Prepared food", 950, "CA-LA"),
    ("General merchandise", 950, "CA-LA"),
    ("Alcohol", 1025, "CA-LA"),
    ("Beverage container", 500, "CA"),
];

const BRANDS: &[&str] = &[
    "Cascade Farms",
    "Golden Acre",
    "Bluebird",
    "Harvest Table",
    "Pine Hollow",
    "Sunny Ridge",
    "Old Mill",
    "Riverbend",
    "Maple Lane",
    "Coastal Kitchen",
    "Prairie Gold",
    "Summit",
    "Green Valley",
    "Red Barn",
    "Silver Spoon",
    "Hearthstone",
    "Wild Meadow",
    "North Fork",
    "Little Orchard",
    "Copper Kettle",
    "Blue Harbor",
    "Evergreen",
    "Stonewall",
    "Lakeside",
    "Morning Star",
    "Oak & Ash",
    "Farmhouse",
    "Three Rivers",
    "Highland",
    "Sweetwater",
];

const ADJECTIVES: &[&str] = &[
    "Organic",
    "Classic",
    "Low Fat",
    "Whole",
    "Unsweetened",
    "Smoked",
    "Roasted",
    "Sea Salt",
    "Honey",
    "Spicy",
    "Original",
    "Extra Virgin",
    "Gluten Free",
    "Crunchy",
    "Creamy",
    "Wild Caught",
    "Grass Fed",
    "Sparkling",
    "Dark",
    "Vanilla",
    "Garlic",
    "Sourdough",
    "Free Range",
    "Reduced Sodium",
    "Family Size",
];

const NOUNS: &[&str] = &[
    "Milk",
    "Yogurt",
    "Cheddar",
    "Butter",
    "Eggs",
    "Bread",
    "Bagels",
    "Tortillas",
    "Apples",
    "Bananas",
    "Spinach",
    "Carrots",
    "Chicken Breast",
    "Ground Beef",
    "Salmon Fillet",
    "Bacon",
    "Pasta",
    "Rice",
    "Black Beans",
    "Tomato Sauce",
    "Olive Oil",
    "Peanut Butter",
    "Granola",
    "Oatmeal",
    "Coffee",
    "Green Tea",
    "Orange Juice",
    "Sparkling Water",
    "Potato Chips",
    "Pretzels",
    "Crackers",
    "Almonds",
    "Dark Chocolate",
    "Ice Cream",
    "Frozen Pizza",
    "Salsa",
    "Hummus",
    "Soup",
    "Ketchup",
    "Mustard",
    "Paper Towels",
    "Dish Soap",
    "Shampoo",
    "Dog Food",
    "Cat Litter",
    "Diapers",
    "Tulips",
    "Trail Mix",
    "Kombucha",
    "Lager",
];

const SIZES: &[(&str, &str)] = &[
    ("12 oz", "each"),
    ("16 oz", "each"),
    ("1 gal", "each"),
    ("half gal", "each"),
    ("1 lb", "lb"),
    ("2 lb", "each"),
    ("6 ct", "each"),
    ("12 ct", "each"),
    ("750 ml", "each"),
    ("1 l", "each"),
    ("8 oz", "oz"),
    ("24 oz", "each"),
    ("5 lb", "each"),
    ("6 pk", "each"),
];

const PHRASES: &[&str] = &[
    "Sourced from family farms",
    "No artificial colors or flavors",
    "Keep refrigerated after opening",
    "A pantry staple for busy weeknights",
    "Best enjoyed fresh",
    "Made in small batches",
    "Non-GMO Project verified",
    "Great for lunches and snacks",
    "Resealable package keeps it fresh",
    "A customer favorite since 1987",
    "Rich flavor with a smooth finish",
    "Responsibly packaged in recyclable materials",
    "Perfect for the whole family",
    "Contains no added sugar",
    "Locally roasted and packed",
    "Hand selected for quality",
];

/// One product's catalogue fields.
pub(crate) struct Product {
    pub(crate) name: String,
    pub(crate) brand: &'static str,
    pub(crate) department_id: i64,
    pub(crate) tax_rate_id: i64,
    pub(crate) price_cents: i64,
    pub(crate) cost_cents: i64,
    pub(crate) unit: &'static str,
    pub(crate) size: &'static str,
    pub(crate) description: String,
    pub(crate) sku: String,
    pub(crate) active: bool,
    pub(crate) sold_by_weight: bool,
}

impl Product {
    /// A random product with SKU derived from `id`.
    pub(crate) fn random(rng: &mut Rng, id: i64) -> Product {
        let brand = pick(rng, BRANDS);
        let adjective = pick(rng, ADJECTIVES);
        let noun = pick(rng, NOUNS);
        let (size, unit) = pick(rng, SIZES);
        let price_cents = rng.i64(99..=4_999);
        let mut description = String::with_capacity(160);
        for (i, phrase) in [pick(rng, PHRASES), pick(rng, PHRASES), pick(rng, PHRASES)]
            .into_iter()
            .enumerate()
        {
            if i == 0 {
                description.push_str(adjective);
                description.push(' ');
                description.push_str(&noun.to_lowercase());
                description.push_str(" by ");
                description.push_str(brand);
            }
            description.push_str(". ");
            description.push_str(phrase);
        }
        description.push('.');
        Product {
            name: format!("{brand} {adjective} {noun} {size}"),
            brand,
            department_id: rng.i64(1..=DEPARTMENTS.len() as i64),
            tax_rate_id: rng.i64(1..=TAX_RATES.len() as i64),
            price_cents,
            cost_cents: price_cents * rng.i64(55..=80) / 100,
            unit,
            size,
            description,
            sku: format!("SKU-{id:08}"),
            active: rng.u8(0..100) < 97,
            sold_by_weight: unit == "lb",
        }
    }
}

/// How many barcodes a new product gets (most have one, some two or three).
pub(crate) fn barcode_count(rng: &mut Rng) -> u64 {
    match rng.u8(0..100) {
        0..75 => 1,
        75..95 => 2,
        _ => 3,
    }
}

/// The UPC-A barcode for the `n`-th barcode row: unique for every `n < 10^11`.
pub(crate) fn barcode(n: u64) -> String {
    const SPACE: u128 = 100_000_000_000;
    // Multiplying by a number coprime with 10 permutes 0..10^11.
    let body = ((u128::from(n) * 62_089_911_153 + 36_000_000_017) % SPACE) as u64;
    let digits = format!("{body:011}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

pub(crate) fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn barcodes_are_valid_upc_a_and_unique() {
        let codes: Vec<String> = (1..=20_000).map(barcode).collect();
        let unique: HashSet<&String> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        for code in &codes {
            assert_eq!(code.len(), 12);
            let sum: u32 = code
                .bytes()
                .enumerate()
                .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
                .sum();
            assert_eq!(sum % 10, 0, "{code}");
        }
    }

    #[test]
    fn products_are_deterministic() {
        let a = Product::random(&mut Rng::with_seed(7), 1);
        let b = Product::random(&mut Rng::with_seed(7), 1);
        assert_eq!(a.name, b.name);
        assert_eq!(a.description, b.description);
        assert!(a.cost_cents < a.price_cents);
    }
}
