"""Stop-word lists: the fallback language identifier's profiles and the keyphrase candidate delimiters.

Short lists of the most frequent function words of each language. Frequent words are what tells two
languages apart in a few sentences, and also what must never start or end a keyphrase.
"""

from __future__ import annotations

__all__ = ["STOPWORDS", "NEWS_FILLER"]

_RAW: dict[str, str] = {
    "en": """a about above after again against all also am an and any are aren't as at be because been before
        being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
        down during each either even ever every few for from further had hadn't has hasn't have haven't having
        he he'd he'll he's her here here's hers herself him himself his how how's however i i'd i'll i'm i've
        if in into is isn't it it's its itself just let's many may me might more most much must mustn't my
        myself neither no nor not now of off often on once one only or other ought our ours ourselves out
        over own per same shall shan't she she'd she'll she's should shouldn't since so some still such than
        that that's the their theirs them themselves then there there's these they they'd they'll they're
        they've this those though through thus to too under until up upon us very via was wasn't we we'd
        we'll we're we've were weren't what what's when when's where where's whether which while who who's
        whom whose why why's will with within without won't would wouldn't yet you you'd you'll you're
        you've your yours yourself yourselves""",
    "de": """aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dem den der des die
        dies diese dieser doch dort du durch ein eine einem einen einer eines er es für hat hatte hier ich
        ihr im in ist ja jetzt kann kein keine mit nach nicht noch nur ob oder sich sie sind so über um und
        uns unter vom von vor war waren was wenn werden wie wir wird wurde zu zum zur""",
    "fr": """à au aux avec ce ces cette dans de des du elle elles en est et été être il ils je la le les
        leur leurs lui mais me même mes moi ne nos notre nous on ont ou où par pas plus pour qu que qui sa
        sans se ses son sont sur ta te tes toi ton tous tout très tu un une vos votre vous été était""",
    "es": """a al algo como con cual cuando de del desde donde el ella ellos en entre era es esa ese esta
        este esto está están fue ha han hasta la las le les lo los más me mi muy no nos o otra otro para pero
        por porque que quien se ser si sin sobre son su sus también tiene todo un una uno y ya""",
    "it": """a ai al alla alle anche che chi come con da dal dalla degli dei del della delle di e è era gli
        ha hanno il in io la le lo loro ma mi nel nella nelle non o per più quando quella quello questa
        questo se si sono su sua sue suo tra un una uno""",
    "pt": """a ao aos as até com como da das de do dos e é ela ele eles em entre era essa esse esta este foi
        há isso já mais mas me muito na nas não no nos o os ou para pela pelo por quando que se sem ser seu
        sua são também tem um uma""",
    "nl": """aan al als bij dan dat de den der deze die dit door een en er had heb hebben heeft het hij
        hoe hun ik in is je kan maar met na naar niet nog nu of om ons ook op over te tot uit van veel voor
        was wat we werd wie wij worden zal ze zich zij zijn""",
    "sv": """att av de dem den denna det detta du efter eller en ett från för har hon hur i inte jag kan
        man med mot men när och om på sig sin sina ska som till under upp ut var vi vid vill är även""",
    "da": """af alle at blev da de dem den denne der det dette du efter eller en end er et for fra har
        hende han hans her hun hvad hvis hvor i ikke jeg kan man med men mod når og også om på sig sin skal
        som til ud var vi vil være""",
    "nb": """av at de dem den denne der det dette du eller en et etter for fra han har hun hva hvis hvor
        i ikke jeg kan man med men mot når og også om på seg sin skal som til ut var vi vil være""",
    "pl": """a aby ale bez bo być był była było byli co czy dla do go i ich ja jak jako jednak jego jej
        jest już ma może na nad nie niż o od oraz po pod przez przy się są ta tak także te tego tej ten to
        tylko w we więc z za że""",
    "tr": """ama bir biz bu bunu da daha de değil diye en gibi için ile ise kadar ki mi ne o olan olarak
        sonra şu ve veya ya çok daha her""",
    "fi": """ei että ja jo joka kanssa kuin kun mutta myös niin nyt oli olla on ovat se sen sitä tai tämä
        tässä vain vielä he hän minä me te""",
    "cs": """a aby ale by byl byla bylo být do i jak jako je jeho jejich již jsem jsou k kde když na nebo
        není o od po pro při s se si tak také to tom už v ve z za že""",
    "ro": """a acest această ai al ale am care ce cu de din după este fi fost în la mai nu o pe pentru prin
        sa să se si și sunt un una unei unui""",
    "hu": """a az azt be csak de egy el és ez hogy ha is meg mert mint nem sem még már nagy van volt vagy
        kell lesz ki""",
}

STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _RAW.items()}

# Words frequent in news that make poor keyphrases in any story (reporting verbs, vague quantities, time words).
NEWS_FILLER = frozenset(
    """said says say saying told tell according added adds added reported report reports reporting statement
    asked announced including include includes also well like just year years month months week
    weeks day days today yesterday tomorrow time times last next first second third percent pct mln bln
    billion million thousand hundred dlrs dlr cts number lot lots way ways part thing things people monday
    tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december jan feb mar apr jun jul aug
    sep sept oct nov dec mr mrs ms dr however although despite according meanwhile already
    another around whether would could should might among several since made make makes making get gets
    got go goes going went come comes came take takes took taken see seen use used using two three four five
    six seven eight nine ten""".split()
)
