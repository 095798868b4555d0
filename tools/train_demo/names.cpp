// The demo model's first names: common English given names of unambiguous gender (unisex names such
// as Alex, Jordan, Taylor or Sam are left out on purpose, so every name has one true answer).
//
// Held out (evaluation only, never in a task template during training): the study's ten female and ten
// male names (DESIGN §5, so the app's default datasets measure generalisation) plus fifteen more of each.
#include "corpus.h"

namespace obsprop::train_demo {

NameLists heldout_names() {
    NameLists n;
    n.female = {// the study's names
                "Jennifer", "Jane", "Annie", "Chloe", "Amy", "Judy", "Lisa", "Carol", "Clara", "Sarah",
                // fifteen more
                "Mary", "Linda", "Susan", "Karen", "Emily", "Rachel", "Helen", "Anna", "Laura", "Julia",
                "Grace", "Lucy", "Alice", "Kate", "Sophie"};
    n.male = {// the study's names
              "John", "David", "Mark", "Paul", "Ryan", "Gary", "Jack", "Arnold", "Joe", "Andy",
              // fifteen more
              "James", "Robert", "Michael", "William", "Richard", "Thomas", "Daniel", "Steven", "Kevin",
              "George", "Peter", "Henry", "Frank", "Brian", "Eric"};
    return n;
}

NameLists training_names() {
    NameLists n;
    n.female = {
        "Patricia", "Barbara",  "Elizabeth", "Jessica",   "Nancy",      "Betty",    "Margaret",  "Sandra",
        "Ashley",   "Kimberly", "Donna",     "Michelle",  "Dorothy",    "Melissa",  "Deborah",   "Stephanie",
        "Rebecca",  "Sharon",   "Cynthia",   "Kathleen",  "Shirley",    "Angela",   "Brenda",    "Pamela",
        "Nicole",   "Emma",     "Samantha",  "Katherine", "Christine",  "Debra",    "Catherine", "Janet",
        "Ruth",     "Maria",    "Heather",   "Diane",     "Virginia",   "Julie",    "Joyce",     "Victoria",
        "Olivia",   "Kelly",    "Christina", "Lauren",    "Joan",       "Evelyn",   "Judith",    "Megan",
        "Cheryl",   "Andrea",   "Hannah",    "Martha",    "Jacqueline", "Frances",  "Gloria",    "Ann",
        "Teresa",   "Kathryn",  "Sara",      "Janice",    "Marie",      "Madison",  "Theresa",   "Beverly",
        "Denise",   "Marilyn",  "Amber",     "Danielle",  "Rose",       "Brittany", "Diana",     "Abigail",
        "Natalie",  "Lori",     "Tiffany",   "Kayla",     "Sophia",     "Isabella", "Mia",       "Charlotte",
        "Amelia",   "Ella",     "Lily",      "Zoe",       "Nora",       "Stella",   "Hazel",     "Violet",
        "Aurora",   "Penelope", "Layla",     "Ellie",     "Scarlett",   "Aria",     "Luna",      "Savannah",
        "Audrey",   "Bella",    "Claire",    "Natasha",   "Ruby",       "Eva",      "Molly",     "Sadie",
        "Ivy",      "Jasmine",  "Leah",      "Caroline",  "Naomi",      "Elena",    "Gabriella", "Madeline",
        "Emilia",   "Vanessa",  "Monica",    "Erica",     "Wendy",      "Tina",     "Holly",     "Rita",
        "Paula",    "Irene",    "Edith",     "Sylvia",    "Esther",     "Agnes",    "Lillian",   "Florence",
        "Gladys",   "Doris",    "Mildred",   "Ethel",     "Lucille",    "Mabel",    "Hilda",     "Ingrid",
        "Greta",    "Heidi",    "Olga",      "Tanya",     "Sonia",      "Nina",     "Vera",      "Rosa",
        "Carmen",   "Lucia",    "Fiona",     "Bridget",   "Sheila",     "Maureen",  "Eileen",    "Colleen",
        "Kathy",    "Cathy",    "Sally",     "Peggy",     "Wanda",      "Bonnie",   "Connie",    "Lois",
        "Carla",    "Marsha",   "Yvonne",    "Jill",      "Gwen",       "Norma",    "Vivian",    "Mandy",
        "Becky",    "Penny",    "Daisy",     "Phoebe",    "Iris",       "Jenny",    "Ellen",     "Amanda",
        "Melanie",  "Isabel",   "Josephine", "Eleanor",   "Louise",     "Harriet",  "Beatrice",  "Matilda",
        "Anita",    "Bianca",   "Celia",     "Elsa",      "Gina",       "Joanna",   "Lydia",     "Nadia",
    };
    n.male = {
        "Joseph",   "Charles",   "Christopher", "Matthew",   "Anthony",  "Donald",   "Andrew",   "Kenneth",
        "Joshua",   "Timothy",   "Ronald",      "Edward",    "Jason",    "Jeffrey",  "Jacob",    "Nicholas",
        "Jonathan", "Stephen",   "Larry",       "Justin",    "Scott",    "Brandon",  "Benjamin", "Samuel",
        "Gregory",  "Alexander", "Patrick",     "Raymond",   "Dennis",   "Jerry",    "Tyler",    "Aaron",
        "Jose",     "Adam",      "Nathan",      "Douglas",   "Zachary",  "Kyle",     "Walter",   "Ethan",
        "Jeremy",   "Harold",    "Keith",       "Christian", "Roger",    "Noah",     "Gerald",   "Carl",
        "Terry",    "Sean",      "Austin",      "Arthur",    "Lawrence", "Jesse",    "Dylan",    "Bryan",
        "Billy",    "Bruce",     "Albert",      "Willie",    "Gabriel",  "Logan",    "Alan",     "Juan",
        "Wayne",    "Roy",       "Ralph",       "Randy",     "Eugene",   "Vincent",  "Russell",  "Elijah",
        "Louis",    "Bobby",     "Philip",      "Johnny",    "Liam",     "Oliver",   "Lucas",    "Mason",
        "Owen",     "Leo",       "Hugo",        "Oscar",     "Felix",    "Max",      "Theo",     "Isaac",
        "Caleb",    "Luke",      "Levi",        "Sebastian", "Julian",   "Miles",    "Jasper",   "Victor",
        "Marcus",   "Simon",     "Martin",      "Stanley",   "Leonard",  "Howard",   "Fred",     "Harry",
        "Ernest",   "Herbert",   "Clarence",    "Chester",   "Lloyd",    "Vernon",   "Marvin",   "Gordon",
        "Dale",     "Glenn",     "Rodney",      "Curtis",    "Troy",     "Derek",    "Shane",    "Brett",
        "Todd",     "Craig",     "Barry",       "Neil",      "Ian",      "Colin",    "Graham",   "Nigel",
        "Trevor",   "Clive",     "Stuart",      "Duncan",    "Angus",    "Hamish",   "Fergus",   "Rupert",
        "Hugh",     "Giles",     "Rex",         "Boris",     "Ivan",     "Dmitri",   "Sergei",   "Igor",
        "Hans",     "Karl",      "Otto",        "Klaus",     "Pedro",    "Diego",    "Carlos",   "Luis",
        "Miguel",   "Rafael",    "Pablo",       "Marco",     "Luigi",    "Giovanni", "Antonio",  "Ahmed",
        "Omar",     "Tariq",     "Raj",         "Vikram",    "Kenji",    "Hiroshi",  "Bernard",  "Clifford",
        "Ned",      "Ted",       "Ben",         "Tom",       "Tim",      "Jim",      "Bob",      "Bill",
        "Steve",    "Mike",      "Dave",        "Tony",      "Jeff",     "Greg",     "Nick",     "Eddie",
        "Leon",     "Nelson",    "Gilbert",     "Wallace",   "Warren",   "Elliot",   "Edgar",    "Roland",
    };
    return n;
}

} // namespace obsprop::train_demo
